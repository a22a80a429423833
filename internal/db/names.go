package db

// Name identifies one of the seed's logical databases. Each service owns the
// tables of exactly one logical database and reaches other services through
// their Go API, never through their tables.
type Name string

// The seed's DatabaseRegistry, one entry per logical database.
const (
	// Platform holds teams, users, sessions, API tokens and the audit log.
	Platform Name = "cspm_platform"
	// Orchestration holds ScanRuns, SubJobs, cloud accounts and River's job queue.
	Orchestration Name = "orchestration"
	// Vulnerability holds the vulnerability catalog, occurrences and KEV/EPSS data.
	Vulnerability Name = "vulnerability"
	// NativeScans holds the unified scan results store behind the scan history.
	NativeScans Name = "native_scans"
	// KnowledgeBase holds policy documents, chunks and embeddings for RAG.
	KnowledgeBase Name = "knowledge_base"
)

// Names lists every logical database in a stable order (the order migrations run in).
var Names = []Name{Platform, Orchestration, Vulnerability, NativeScans, KnowledgeBase}

// Valid reports whether n is one of the logical databases.
func (n Name) Valid() bool {
	for _, k := range Names {
		if k == n {
			return true
		}
	}
	return false
}
