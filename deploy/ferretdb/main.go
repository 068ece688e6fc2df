// Command gridcase-ferretdb runs FerretDB (a MongoDB wire-protocol server) for local
// development and tests, on its PostgreSQL backend. It embeds FerretDB's library package,
// so no build-time version file is needed, and puts a write serializer in front of it
// (see serialize.go) so that single-document writes are atomic, as in MongoDB.
//
// FerretDB allocates heavily per command; with Go's default GC target it spent about a
// fifth of its CPU collecting. Unless GOGC is set, the heap may grow to 5x the live data
// before a collection (tens of MB here), which cut its CPU per write by about 20%.
//
// The PostgreSQL backend, not SQLite: FerretDB 1.24's SQLite backend pushes no filter
// down to SQL, so every query and update scans its whole collection in Go (measured at
// 2,000 documents: 21-27 updates by _id per second, 2 queries per second on another
// field), which made the local system unusable past a few hundred cases.
//
// Clients authenticate with PLAIN; FerretDB 1.24 opens PostgreSQL connections with the
// client's user name and password, so PostgreSQL's grants decide what each client may
// read and write. A client that does not authenticate gets PostgreSQL connections without
// credentials, which are refused. FerretDB caches its catalogue of databases from the
// first connection that needs it, seeing only what that role sees; a database missing
// from the catalogue is created again on first use, and FerretDB drops it when that
// fails. So the catalogue is loaded at start with the credentials of -postgresql-url,
// which must name a role that sees every database.
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	postgresURL := flag.String("postgresql-url", "postgres://postgres@127.0.0.1:5432/postgres",
		"PostgreSQL that stores the data, with the credentials of a role that sees every database")
	runDir := flag.String("run", "run", "directory for FerretDB's internal socket")
	flag.Parse()
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}

	dir, err := filepath.Abs(*runDir)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Fatal(err)
	}

	backendURL, err := url.Parse(*postgresURL)
	if err != nil {
		log.Fatal(err)
	}
	catalogueUser := backendURL.User
	if catalogueUser == nil {
		log.Fatal("gridcase-ferretdb: -postgresql-url must name the role that loads the catalogue")
	}
	backendURL.User = nil

	socket := filepath.Join(dir, "ferretdb.sock")
	_ = os.Remove(socket)
	server, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{Unix: socket},
		Handler:       "postgresql",
		PostgreSQLURL: backendURL.String(),
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

	if err := loadCatalogue(ctx, socket, catalogueUser); err != nil {
		log.Fatalf("gridcase-ferretdb: loading the catalogue: %v", err)
	}

	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	serializer := newWriteSerializer(socket)
	go func() {
		<-ctx.Done()
		listener.Close()
	}()
	log.Printf("gridcase-ferretdb: FerretDB %s (PostgreSQL backend) listening on %s", ferretdbVersion(), *listen)
	if err := serializer.serve(listener); err != nil {
		log.Fatal(err)
	}
	if err := <-stopped; err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
	log.Print("gridcase-ferretdb: stopped")
}

// loadCatalogue lists the databases as user, which makes FerretDB load its catalogue.
func loadCatalogue(ctx context.Context, socket string, user *url.Userinfo) error {
	credential := options.Credential{AuthMechanism: "PLAIN", Username: user.Username()}
	credential.Password, _ = user.Password()
	client, err := mongo.Connect(ctx, options.Client().
		ApplyURI("mongodb://"+url.QueryEscape(socket)).
		SetAuth(credential).
		SetDirect(true))
	if err != nil {
		return err
	}
	defer client.Disconnect(ctx)
	_, err = client.ListDatabaseNames(ctx, bson.D{})
	return err
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
