package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"net"

	"golang.org/x/sync/semaphore"
)

// FerretDB 1.24 executes an update as "query the document, then write it back"
// without a transaction, so two concurrent writes to one document can lose one of them
// (measured on the SQLite backend: 600 concurrent $inc on one document left 321; the
// handler code that does this is shared by both backends). MongoDB makes every
// single-document write atomic, and gridcase relies on that (conditional updates with a
// version in the filter, the outbox). writeSerializer restores it for local use: it sits
// in front of the embedded FerretDB and lets one write command at a time through per
// document it names (see scope.go and locks.go), while reads and writes to other
// documents run concurrently, so PostgreSQL commits them together.
//
// FerretDB 1.24 keeps a pool of 50 PostgreSQL connections per role, and an update command
// of n statements may hold n+1 of them at once (see connectionsFor); three 16-statement
// updates can take the whole pool and then wait on each other for ever. writeSerializer
// also admits write commands by those connections, at most writeConnections at once, so
// the pool always has room for every admitted write to finish and for reads.

const (
	opMsg       = 2013
	moreToCome  = 1 << 1
	headerBytes = 16
	maxMessage  = 48 << 20

	writeConnections = 40
)

type writeSerializer struct {
	backend     string
	locks       lockTable
	connections *semaphore.Weighted
}

func newWriteSerializer(backend string) *writeSerializer {
	return &writeSerializer{backend: backend, connections: semaphore.NewWeighted(writeConnections)}
}

func (s *writeSerializer) serve(listener net.Listener) error {
	for {
		client, err := listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		go s.relay(client)
	}
}

// relay forwards one client connection's requests to the backend, each followed by its
// reply, holding the locks of a write command's scope until its reply is back.
func (s *writeSerializer) relay(client net.Conn) {
	defer client.Close()
	backend, err := net.Dial("unix", s.backend)
	if err != nil {
		log.Printf("gridcase-ferretdb: backend unreachable: %v", err)
		return
	}
	defer backend.Close()
	for {
		request, err := readMessage(client)
		if err != nil {
			return
		}
		scope, write := writeScope(request)
		if write {
			// The locks first: a write waiting for connections holds no connection, so
			// no write that holds some ever waits for a lock.
			unlock := s.locks.lock(scope)
			connections := min(scope.connections, writeConnections)
			_ = s.connections.Acquire(context.Background(), connections)
			err = exchange(backend, client, request)
			s.connections.Release(connections)
			unlock()
		} else {
			err = exchange(backend, client, request)
		}
		if err != nil {
			return
		}
	}
}

// exchange sends one request to the backend and relays its reply, if the request expects
// one (an OP_MSG flagged moreToCome does not).
func exchange(backend, client net.Conn, request []byte) error {
	if _, err := backend.Write(request); err != nil {
		return err
	}
	if isOpMsg(request) && binary.LittleEndian.Uint32(request[16:20])&moreToCome != 0 {
		return nil
	}
	reply, err := readMessage(backend)
	if err != nil {
		return err
	}
	_, err = client.Write(reply)
	return err
}

func readMessage(conn net.Conn) ([]byte, error) {
	header := make([]byte, headerBytes)
	if _, err := io.ReadFull(conn, header); err != nil {
		return nil, err
	}
	length := int(binary.LittleEndian.Uint32(header))
	if length < headerBytes+4 || length > maxMessage {
		return nil, fmt.Errorf("message length %d out of range", length)
	}
	message := make([]byte, length)
	copy(message, header)
	if _, err := io.ReadFull(conn, message[headerBytes:]); err != nil {
		return nil, err
	}
	return message, nil
}

func isOpMsg(message []byte) bool {
	return binary.LittleEndian.Uint32(message[12:16]) == opMsg
}
