// Command gridcase-ferretdb runs FerretDB (a MongoDB wire-protocol server) on SQLite
// for local development and tests. It embeds FerretDB's library package, so no
// build-time version file is needed, and puts a write serializer in front of it (see
// serialize.go) so that single-document writes are atomic, as in MongoDB.
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	dataDir := flag.String("data", "data", "directory holding the SQLite databases")
	flag.Parse()

	dir, err := filepath.Abs(*dataDir)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Fatal(err)
	}

	socket := filepath.Join(dir, "ferretdb.sock")
	_ = os.Remove(socket)
	server, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{Unix: socket},
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	stopped := make(chan error, 1)
	go func() { stopped <- server.Run(ctx) }()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if conn, err := net.Dial("unix", socket); err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			log.Fatal("gridcase-ferretdb: FerretDB did not start")
		}
	}

	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	serializer := &writeSerializer{backend: socket}
	go func() {
		<-ctx.Done()
		listener.Close()
	}()
	log.Printf("gridcase-ferretdb: FerretDB %s (SQLite) listening on %s, data in %s", ferretdbVersion(), *listen, dir)
	if err := serializer.serve(listener); err != nil {
		log.Fatal(err)
	}
	if err := <-stopped; err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
	log.Print("gridcase-ferretdb: stopped")
}

// ferretdbVersion reads the embedded FerretDB module's version from the build info.
func ferretdbVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/FerretDB/FerretDB" {
				return dep.Version
			}
		}
	}
	return "unknown"
}
