package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// Pipeline sends statements on a PostgreSQL transaction's connection
// without waiting for each one's result (the protocol's pipeline mode), so
// that the server starts on the next statement as it finishes one instead
// of waiting for the client to read the result and send the next. A
// statement's parameters come encoded (see pgtype.Map.Encode); its result
// is not read back, only whether it failed.
//
// While a Pipeline is open it holds the connection: nothing else may use
// the transaction until Close returns. Errors come back from Exec once a
// statement has failed (the transaction is then aborted), and from Close.
type Pipeline struct {
	cmds chan pipelineStatement
	done chan error
	mu   sync.Mutex
	err  error // the first statement's error, once read
}

type pipelineStatement struct {
	query  string
	params [][]byte
	oids   []uint32
}

// pipelineDepth is how many statements may wait for their results: the
// one the server runs, and the next, already sent.
const pipelineDepth = 2

// OpenPipeline puts conn, which holds an open transaction, in pipeline mode
// until Close. conn must be a PostgreSQL connection.
func OpenPipeline(ctx context.Context, conn *sql.Conn) *Pipeline {
	p := &Pipeline{cmds: make(chan pipelineStatement), done: make(chan error, 1)}
	go func() {
		// database/sql hands out the driver's connection only inside Raw,
		// and holds it for as long as the function runs: this goroutine
		// keeps it, and takes the statements from the caller's.
		err := conn.Raw(func(driverConn any) error {
			c, ok := driverConn.(*stdlib.Conn)
			if !ok {
				return fmt.Errorf("db: pipeline on a %T, not a PostgreSQL connection", driverConn)
			}
			return p.run(c.Conn().PgConn().StartPipeline(ctx))
		})
		if err != nil {
			p.fail(err)
		}
		// Raw may fail before the pipeline ran (a closed connection), or
		// the pipeline may refuse a driver: take what Exec still sends.
		for range p.cmds {
		}
		p.done <- err
	}()
	return p
}

func (p *Pipeline) run(pl *pgconn.Pipeline) error {
	waiting := 0 // statements sent whose results are not read yet
	for st := range p.cmds {
		if p.failed() != nil {
			continue // the transaction is aborted: the statement would fail too
		}
		formats := make([]int16, len(st.params))
		for i := range formats {
			formats[i] = 1 // binary, as pgtype.Map encodes them
		}
		pl.SendQueryParams(st.query, st.params, st.oids, formats, nil)
		pl.SendPipelineSync()
		if err := pl.Flush(); err != nil {
			p.fail(err)
			continue
		}
		waiting++
		for waiting >= pipelineDepth {
			if err := readStatement(pl); err != nil {
				p.fail(err)
				break
			}
			waiting--
		}
	}
	// Close reads whatever results are left.
	if err := pl.Close(); err != nil {
		p.fail(err)
	}
	return p.failed()
}

// readStatement reads one statement's results and its sync point.
func readStatement(pl *pgconn.Pipeline) error {
	for {
		res, err := pl.GetResults()
		if err != nil {
			return err
		}
		switch r := res.(type) {
		case *pgconn.ResultReader:
			if _, err := r.Close(); err != nil {
				return err
			}
		case *pgconn.PipelineSync:
			return nil
		case nil:
			return errors.New("db: pipeline ended before a statement's results")
		}
	}
}

// fail keeps err if it is the first.
func (p *Pipeline) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = err
	}
}

func (p *Pipeline) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Exec sends query with its encoded parameters of the given types; it
// returns the error of a statement sent before, if one failed.
func (p *Pipeline) Exec(query string, params [][]byte, oids []uint32) error {
	if err := p.failed(); err != nil {
		return err
	}
	p.cmds <- pipelineStatement{query: query, params: params, oids: oids}
	return nil
}

// Close waits for every statement's result, hands the connection back to
// the transaction, and returns the first statement's error.
func (p *Pipeline) Close() error {
	close(p.cmds)
	return <-p.done
}
