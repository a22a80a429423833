package knowledge

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
)

// recordingQueue keeps what would have been queued.
type recordingQueue struct {
	mu   sync.Mutex
	args []river.JobArgs
}

func (r *recordingQueue) Insert(_ context.Context, args river.JobArgs, _ *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.args = append(r.args, args)
	return &rivertype.JobInsertResult{Job: &rivertype.JobRow{}}, nil
}

// A document a crash left queued (its job never inserted) is queued again
// once it has waited StallAfter; a fresh one and a ready one are left alone.
func TestRecoverStalledDocuments(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		b := setup(t, reg)
		now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
		b.s.now = func() time.Time { return now }
		ready := b.upload(t, teamA, "ready.md", accessPolicy)
		// Uploaded without a queue: the state a crash between the upload's
		// commit and its job's insert leaves.
		res, err := b.s.DocumentUpload(ctx, teamB, UploadParams{Name: "lost.md", Body: strings.NewReader(incidentPolicy), Actor: admin})
		if err != nil {
			t.Fatal(err)
		}
		q := &recordingQueue{}
		b.s.queue = q
		if n, err := b.s.RecoverStalled(ctx); err != nil || n != 0 {
			t.Fatalf("too early: %d, %v", n, err)
		}
		now = now.Add(StallAfter + time.Minute)
		if n, err := b.s.RecoverStalled(ctx); err != nil || n != 1 {
			t.Fatalf("recover: %d, %v", n, err)
		}
		got, ok := q.args[0].(ProcessDocumentArgs)
		if !ok || got.TeamID != teamB || got.DocumentID != res.Document.ID || got.Version != 1 || got.DocumentID == ready.ID {
			t.Fatalf("queued %+v", q.args)
		}
		// Processed as the job would: nothing stalls any more.
		if err := b.s.ProcessDocument(ctx, teamB, got.DocumentID, got.Version); err != nil {
			t.Fatal(err)
		}
		if n, err := b.s.RecoverStalled(ctx); err != nil || n != 0 {
			t.Fatalf("after processing: %d, %v", n, err)
		}
	})
}
