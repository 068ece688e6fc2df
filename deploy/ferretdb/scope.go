package main

import (
	"encoding/binary"
	"errors"
	"strings"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/bsontype"
)

// scope is what a write command may change: the documents of one collection named by
// their _id, or (ids nil) any document of the collection, or (collection "") anything;
// and how many PostgreSQL connections FerretDB may hold at once to carry it out.
type scope struct {
	collection  string
	ids         []string
	connections int64
}

// connectionsFor is how many PostgreSQL connections FerretDB 1.24 may hold at once for a
// write command: an update keeps each statement's query (and its connection) open until
// the whole command ends and takes one more connection for each statement's write; a
// findAndModify holds its query while it writes; an insert or a delete uses one at a time.
func connectionsFor(command string, statements int) int64 {
	switch command {
	case "update":
		return int64(statements) + 1
	case "findandmodify":
		return 2
	}
	return 1
}

const checksumPresent = 1 << 0

// statementLists names, per write command, where its statements are: in the command
// document's array of that name or in a document sequence (OP_MSG section kind 1) of it.
var statementLists = map[string]string{
	"insert": "documents", "update": "updates", "delete": "deletes", "findandmodify": "",
}

// writeScope tells whether a request is a write command and, if so, its scope. A write
// names a document when its every statement does: an insert's documents by their _id, an
// update's or delete's filter (`q`) and a findAndModify's `query` by _id equality. A
// write it cannot read that far is given its whole collection, or everything if it cannot
// even tell the collection: the safe side.
func writeScope(message []byte) (scope, bool) {
	if !isOpMsg(message) {
		return scope{}, false // the legacy handshake
	}
	body, sequences, err := opMsgSections(message)
	if err != nil {
		return scope{connections: 1}, true // FerretDB will refuse it; until then, exclude every write
	}
	first, err := body.IndexErr(0)
	if err != nil {
		return scope{}, false
	}
	name := strings.ToLower(first.Key())
	list, write := statementLists[name]
	if !write {
		return scope{}, false
	}
	collectionName, _ := first.Value().StringValueOK()
	database, _ := body.Lookup("$db").StringValueOK()

	var statements []bson.Raw
	readable := true
	if list == "" {
		statements = []bson.Raw{body}
	} else if array, ok := body.Lookup(list).ArrayOK(); ok {
		values, err := array.Values()
		readable = err == nil
		for _, value := range values {
			document, ok := value.DocumentOK()
			readable = readable && ok
			statements = append(statements, document)
		}
	} else {
		statements = sequences[list]
	}
	whole := scope{
		collection:  database + "." + collectionName,
		connections: connectionsFor(name, len(statements)),
	}
	if !readable {
		return whole, true
	}
	ids := make([]string, 0, len(statements))
	for _, statement := range statements {
		id, ok := namedDocument(name, statement)
		if !ok {
			return whole, true
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return whole, true
	}
	whole.ids = ids
	return whole, true
}

// namedDocument is the _id of the one document a write statement can change, if it names
// one by equality: as a string, ObjectId or binary value (other types can equal each other
// across types, e.g. 1 and 1.0, so they do not make a safe key).
func namedDocument(command string, statement bson.Raw) (string, bool) {
	var id bson.RawValue
	switch command {
	case "insert":
		id = statement.Lookup("_id")
	case "findandmodify":
		filter, ok := statement.Lookup("query").DocumentOK()
		if !ok {
			return "", false
		}
		id = filter.Lookup("_id")
	default:
		filter, ok := statement.Lookup("q").DocumentOK()
		if !ok {
			return "", false
		}
		id = filter.Lookup("_id")
	}
	switch id.Type {
	case bsontype.String, bsontype.ObjectID, bsontype.Binary:
		return string(byte(id.Type)) + string(id.Value), true
	}
	return "", false
}

// opMsgSections splits an OP_MSG into its command document (section kind 0) and its
// document sequences (kind 1) by identifier.
func opMsgSections(message []byte) (bson.Raw, map[string][]bson.Raw, error) {
	end := len(message)
	if binary.LittleEndian.Uint32(message[16:20])&checksumPresent != 0 {
		end -= 4
	}
	var body bson.Raw
	sequences := map[string][]bson.Raw{}
	for at := headerBytes + 4; at < end; {
		kind := message[at]
		at++
		size, err := sizeAt(message[:end], at)
		if err != nil {
			return nil, nil, err
		}
		section := message[at : at+size]
		at += size
		switch kind {
		case 0:
			body = section
			if err := body.Validate(); err != nil {
				return nil, nil, err
			}
		case 1:
			identifier, documents, found := strings.Cut(string(section[4:]), "\x00")
			if !found {
				return nil, nil, errors.New("document sequence without identifier")
			}
			for rest := []byte(documents); len(rest) > 0; {
				size, err := sizeAt(rest, 0)
				if err != nil {
					return nil, nil, err
				}
				document := bson.Raw(rest[:size])
				if err := document.Validate(); err != nil {
					return nil, nil, err
				}
				sequences[identifier] = append(sequences[identifier], document)
				rest = rest[size:]
			}
		default:
			return nil, nil, errors.New("unknown OP_MSG section kind")
		}
	}
	if body == nil {
		return nil, nil, errors.New("OP_MSG without a command document")
	}
	return body, sequences, nil
}

// sizeAt reads the little-endian int32 size that starts a BSON document or a document
// sequence at `at`, checked against the bytes that follow.
func sizeAt(data []byte, at int) (int, error) {
	if at+4 > len(data) {
		return 0, errors.New("truncated OP_MSG")
	}
	size := int(int32(binary.LittleEndian.Uint32(data[at:])))
	if size < 5 || at+size > len(data) {
		return 0, errors.New("OP_MSG section size out of range")
	}
	return size, nil
}
