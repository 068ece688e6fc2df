package main

import (
	"slices"
	"sync"
)

// lockTable holds the locks of the writes in flight, in three levels: everything, then a
// collection, then a document. A write that names its documents holds the first two
// shared and each of its documents exclusively; a write on a whole collection holds
// everything shared and its collection exclusively; a write of unknown scope holds
// everything exclusively. Levels are taken top down and documents in sorted order, so no
// two writes wait on each other in a cycle. Entries live only while a write holds or
// awaits them.
type lockTable struct {
	everything  sync.RWMutex
	mu          sync.Mutex
	collections map[string]*collectionLock
}

type collectionLock struct {
	sync.RWMutex
	users     int
	documents map[string]*documentLock
}

type documentLock struct {
	sync.Mutex
	users int
}

// lock blocks until `s` may be written alone, and returns the function that releases it.
func (t *lockTable) lock(s scope) (unlock func()) {
	if s.collection == "" {
		t.everything.Lock()
		return t.everything.Unlock
	}
	t.everything.RLock()
	ids := slices.Compact(slices.Sorted(slices.Values(s.ids)))
	collection, documents := t.acquire(s.collection, ids)
	if s.ids == nil {
		collection.Lock()
	} else {
		collection.RLock()
		for _, document := range documents {
			document.Lock()
		}
	}
	return func() {
		if s.ids == nil {
			collection.Unlock()
		} else {
			for _, document := range documents {
				document.Unlock()
			}
			collection.RUnlock()
		}
		t.release(s.collection, ids)
		t.everything.RUnlock()
	}
}

// acquire finds or makes the entries of a collection and documents, counting a user each.
func (t *lockTable) acquire(name string, ids []string) (*collectionLock, []*documentLock) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.collections == nil {
		t.collections = map[string]*collectionLock{}
	}
	collection := t.collections[name]
	if collection == nil {
		collection = &collectionLock{documents: map[string]*documentLock{}}
		t.collections[name] = collection
	}
	collection.users++
	documents := make([]*documentLock, len(ids))
	for i, id := range ids {
		document := collection.documents[id]
		if document == nil {
			document = &documentLock{}
			collection.documents[id] = document
		}
		document.users++
		documents[i] = document
	}
	return collection, documents
}

// release drops the users counted by acquire and the entries nobody uses any more.
func (t *lockTable) release(name string, ids []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	collection := t.collections[name]
	for _, id := range ids {
		if document := collection.documents[id]; document.users == 1 {
			delete(collection.documents, id)
		} else {
			document.users--
		}
	}
	if collection.users == 1 {
		delete(t.collections, name)
	} else {
		collection.users--
	}
}
