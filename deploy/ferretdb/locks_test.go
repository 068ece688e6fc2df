package main

import (
	"testing"
	"time"
)

// blocked is how long a lock request that must wait is watched for not getting through.
const blocked = 100 * time.Millisecond

// request asks for `s` in the background; the channel yields its unlock once granted.
func request(table *lockTable, s scope) chan func() {
	granted := make(chan func(), 1)
	go func() { granted <- table.lock(s) }()
	return granted
}

// mustWait checks that a request is not granted while `holder` is held, and is once it
// is released.
func mustWait(t *testing.T, table *lockTable, holder, waiter scope) {
	t.Helper()
	unlock := table.lock(holder)
	granted := request(table, waiter)
	select {
	case <-granted:
		t.Fatalf("%+v was granted while %+v was held", waiter, holder)
	case <-time.After(blocked):
	}
	unlock()
	(<-granted)()
}

func mustNotWait(t *testing.T, table *lockTable, holder, other scope) {
	t.Helper()
	unlock := table.lock(holder)
	(<-request(table, other))() // a deadlock here fails the test by its timeout
	unlock()
}

func TestLocks(t *testing.T) {
	table := &lockTable{}
	a := scope{collection: "d.cases", ids: []string{"a"}}
	b := scope{collection: "d.cases", ids: []string{"b"}}
	ab := scope{collection: "d.cases", ids: []string{"b", "a", "b"}}
	cases := scope{collection: "d.cases"}
	otherA := scope{collection: "d.other", ids: []string{"a"}}
	otherCollection := scope{collection: "d.other"}
	everything := scope{}

	mustNotWait(t, table, a, b)
	mustNotWait(t, table, a, otherA)
	mustNotWait(t, table, cases, otherCollection)
	mustNotWait(t, table, cases, otherA)
	mustWait(t, table, a, a)
	mustWait(t, table, a, ab)
	mustWait(t, table, ab, b)
	mustWait(t, table, a, cases)
	mustWait(t, table, cases, b)
	mustWait(t, table, cases, cases)
	mustWait(t, table, everything, otherA)
	mustWait(t, table, otherCollection, everything)
	if len(table.collections) != 0 {
		t.Fatalf("entries left after every lock was released: %v", table.collections)
	}
}

// Many writers over overlapping documents and whole collections finish: no lock order
// makes two of them wait on each other.
func TestLocksDoNotDeadlock(t *testing.T) {
	table := &lockTable{}
	scopes := []scope{
		{collection: "d.cases", ids: []string{"a", "b"}},
		{collection: "d.cases", ids: []string{"b", "a"}},
		{collection: "d.cases", ids: []string{"b", "c"}},
		{collection: "d.cases"},
		{collection: "d.other", ids: []string{"a"}},
		{},
	}
	done := make(chan struct{})
	for n := range 60 {
		go func() {
			for range 200 {
				table.lock(scopes[n%len(scopes)])()
			}
			done <- struct{}{}
		}()
	}
	for range 60 {
		<-done
	}
	if len(table.collections) != 0 {
		t.Fatalf("entries left after every lock was released: %v", table.collections)
	}
}
