package main

import (
	"encoding/binary"
	"slices"
	"testing"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
)

// opMsgRequest builds an OP_MSG request: the command document, then one document sequence per
// identifier given.
func opMsgRequest(t *testing.T, command bson.D, sequences ...any) []byte {
	t.Helper()
	message := make([]byte, headerBytes+4)
	binary.LittleEndian.PutUint32(message[12:], opMsg)
	body, err := bson.Marshal(command)
	if err != nil {
		t.Fatal(err)
	}
	message = append(append(message, 0), body...)
	for i := 0; i < len(sequences); i += 2 {
		section := binary.LittleEndian.AppendUint32(nil, 0)
		section = append(append(section, sequences[i].(string)...), 0)
		for _, document := range sequences[i+1].([]bson.D) {
			raw, err := bson.Marshal(document)
			if err != nil {
				t.Fatal(err)
			}
			section = append(section, raw...)
		}
		binary.LittleEndian.PutUint32(section, uint32(len(section)))
		message = append(append(message, 1), section...)
	}
	binary.LittleEndian.PutUint32(message, uint32(len(message)))
	return message
}

func key(value any) string {
	kind, data, err := bson.MarshalValue(value)
	if err != nil {
		panic(err)
	}
	return string(byte(kind)) + string(data)
}

func TestWriteScope(t *testing.T) {
	id := primitive.NewObjectID()
	for _, test := range []struct {
		name    string
		message func(t *testing.T) []byte
		write   bool
		want    scope
	}{
		{
			name: "update by _id in a document sequence",
			message: func(t *testing.T) []byte {
				return opMsgRequest(t, bson.D{{Key: "update", Value: "cases"}, {Key: "$db", Value: "d"}},
					"updates", []bson.D{
						{{Key: "q", Value: bson.D{{Key: "_id", Value: "GC-1"}, {Key: "version", Value: 3}}}},
						{{Key: "q", Value: bson.D{{Key: "_id", Value: "GC-2"}}}},
					})
			},
			write: true,
			want:  scope{collection: "d.cases", ids: []string{key("GC-1"), key("GC-2")}, connections: 3},
		},
		{
			name: "insert with ObjectId and string _ids in the command document",
			message: func(t *testing.T) []byte {
				return opMsgRequest(t, bson.D{
					{Key: "insert", Value: "cases"},
					{Key: "documents", Value: bson.A{bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "_id", Value: "x"}}}},
					{Key: "$db", Value: "d"},
				})
			},
			write: true,
			want:  scope{collection: "d.cases", ids: []string{key(id), key("x")}, connections: 1},
		},
		{
			name: "findAndModify by _id",
			message: func(t *testing.T) []byte {
				return opMsgRequest(t, bson.D{
					{Key: "findAndModify", Value: "cases"},
					{Key: "query", Value: bson.D{{Key: "_id", Value: "GC-1"}}},
					{Key: "$db", Value: "d"},
				})
			},
			write: true,
			want:  scope{collection: "d.cases", ids: []string{key("GC-1")}, connections: 2},
		},
		{
			name: "update by another field takes the collection",
			message: func(t *testing.T) []byte {
				return opMsgRequest(t, bson.D{{Key: "update", Value: "cases"}, {Key: "$db", Value: "d"}},
					"updates", []bson.D{
						{{Key: "q", Value: bson.D{{Key: "_id", Value: "GC-1"}}}},
						{{Key: "q", Value: bson.D{{Key: "status", Value: "open"}}}},
					})
			},
			write: true,
			want:  scope{collection: "d.cases", connections: 3},
		},
		{
			name: "delete with an operator on _id takes the collection",
			message: func(t *testing.T) []byte {
				return opMsgRequest(t, bson.D{{Key: "delete", Value: "cases"}, {Key: "$db", Value: "d"}},
					"deletes", []bson.D{{{Key: "q", Value: bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{"a"}}}}}}}})
			},
			write: true,
			want:  scope{collection: "d.cases", connections: 1},
		},
		{
			name: "a numeric _id takes the collection (1 and 1.0 name one document)",
			message: func(t *testing.T) []byte {
				return opMsgRequest(t, bson.D{{Key: "insert", Value: "cases"}, {Key: "$db", Value: "d"}},
					"documents", []bson.D{{{Key: "_id", Value: 1}}})
			},
			write: true,
			want:  scope{collection: "d.cases", connections: 1},
		},
		{
			name: "a read is no write",
			message: func(t *testing.T) []byte {
				return opMsgRequest(t, bson.D{{Key: "find", Value: "cases"}, {Key: "filter", Value: bson.D{}}, {Key: "$db", Value: "d"}})
			},
		},
		{
			name: "an unreadable message takes everything",
			message: func(t *testing.T) []byte {
				message := opMsgRequest(t, bson.D{{Key: "insert", Value: "cases"}, {Key: "$db", Value: "d"}})
				binary.LittleEndian.PutUint32(message[headerBytes+5:], 9999)
				return message
			},
			write: true,
			want:  scope{connections: 1},
		},
	} {
		t.Run(test.name, func(t *testing.T) {
			got, write := writeScope(test.message(t))
			if write != test.write || got.collection != test.want.collection ||
				!slices.Equal(got.ids, test.want.ids) || (got.ids == nil) != (test.want.ids == nil) ||
				got.connections != test.want.connections {
				t.Fatalf("writeScope = %+v, %v; want %+v, %v", got, write, test.want, test.write)
			}
		})
	}
}
