package scanner

import "time"

// WorkerReport is what one worker process last said it found of the
// scanners (each worker writes one every minute).
type WorkerReport struct {
	WorkerID   string       `json:"worker_id"`
	ReportedAt time.Time    `json:"reported_at"`
	Tools      []WorkerTool `json:"tools"`
}

// WorkerTool is one scanner in a worker's report.
type WorkerTool struct {
	Name    string `json:"name"`
	Found   bool   `json:"found"`
	Problem string `json:"problem,omitempty"`
}
