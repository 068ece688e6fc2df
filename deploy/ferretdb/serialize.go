package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync"
)

// FerretDB 1.24 executes an update as "query the document, then write it back"
// without a transaction, so two concurrent writes to one document can lose one of them
// (measured on the SQLite backend: 600 concurrent $inc on one document left 321; the
// handler code that does this is shared by both backends). MongoDB makes every
// single-document write atomic, and gridcase relies on that (conditional updates with a
// version in the filter, the outbox). writeSerializer restores it for local use: it
// sits in front of the embedded FerretDB and lets one write command through at a time,
// while reads run concurrently.

const (
	opMsg       = 2013
	moreToCome  = 1 << 1
	headerBytes = 16
	maxMessage  = 48 << 20
)

var writeCommands = map[string]bool{
	"insert": true, "update": true, "delete": true, "findandmodify": true,
}

type writeSerializer struct {
	backend string
	writes  sync.Mutex
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
// reply, holding the write lock around write commands.
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
		write, expectsReply := classify(request)
		if write {
			s.writes.Lock()
		}
		err = exchange(backend, client, request, expectsReply)
		if write {
			s.writes.Unlock()
		}
		if err != nil {
			return
		}
	}
}

func exchange(backend, client net.Conn, request []byte, expectsReply bool) error {
	if _, err := backend.Write(request); err != nil {
		return err
	}
	if !expectsReply {
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
	if length < headerBytes || length > maxMessage {
		return nil, fmt.Errorf("message length %d out of range", length)
	}
	message := make([]byte, length)
	copy(message, header)
	if _, err := io.ReadFull(conn, message[headerBytes:]); err != nil {
		return nil, err
	}
	return message, nil
}

// classify tells whether an OP_MSG request is a write command and whether the server
// answers it (a request flagged moreToCome gets no reply). Other opcodes (the legacy
// handshake) are reads with a reply.
func classify(message []byte) (write, expectsReply bool) {
	if binary.LittleEndian.Uint32(message[12:16]) != opMsg || len(message) < headerBytes+10 {
		return false, true
	}
	flags := binary.LittleEndian.Uint32(message[16:20])
	expectsReply = flags&moreToCome == 0
	// Section kind 0 holds the command document; its first element names the command:
	// int32 length, then element type byte, then the element name as a C string.
	if message[20] != 0 {
		return false, expectsReply
	}
	name := message[headerBytes+4+1+4+1:]
	if end := indexByte(name, 0); end >= 0 {
		return writeCommands[strings.ToLower(string(name[:end]))], expectsReply
	}
	return false, expectsReply
}

func indexByte(b []byte, c byte) int {
	for i, v := range b {
		if v == c {
			return i
		}
	}
	return -1
}
