package knowledge

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"unicode"
)

// Limits of one zip archive. Each entry is also held to the document size
// limit. Entries are read through a limit, never trusting the sizes the
// archive declares, so a zip bomb stops at the first limit it reaches.
const (
	// ArchiveMaxEntries is the most entries (files and folders) a zip may have.
	ArchiveMaxEntries = 1000
	// ArchiveMaxTotalFactor times the document size limit is the most a
	// zip may hold uncompressed, all entries together.
	ArchiveMaxTotalFactor = 5
	// ArchiveMaxRatio is the highest compression ratio an entry of more
	// than archiveRatioFloor bytes may have: text compresses 3-10 times,
	// a bomb thousands of times.
	ArchiveMaxRatio   = 100
	archiveRatioFloor = 256 << 10
)

// BundleFile is one file of a zip archive or a folder, named by its path
// inside it.
type BundleFile struct {
	Path string
	Body []byte
}

// Skipped is a file of an archive or folder that was not imported, and why.
type Skipped struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// IsZip reports whether a file is a zip archive to expand (a .docx is a
// zip too, and a document).
func IsZip(name string, body []byte) bool {
	return strings.EqualFold(path.Ext(name), ".zip") && bytes.HasPrefix(body, []byte("PK\x03\x04"))
}

// CleanPath makes a file's path inside an archive or folder a document
// name: forward slashes, no empty, "." or control characters, at most 200
// characters (the end kept). A path that is absolute or climbs out of
// its root ("..") is refused: it is a path-traversal name, whatever it
// was meant for.
func CleanPath(p string) (string, error) {
	p = strings.ReplaceAll(p, "\\", "/")
	if strings.HasPrefix(p, "/") || (len(p) > 1 && p[1] == ':') {
		return "", fmt.Errorf("%w: %q is an absolute path", ErrInvalid, p)
	}
	var parts []string
	for _, seg := range strings.Split(p, "/") {
		seg = strings.TrimSpace(strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return -1
			}
			return r
		}, seg))
		switch seg {
		case "", ".":
			continue
		case "..":
			return "", fmt.Errorf("%w: %q climbs out of the archive", ErrInvalid, p)
		}
		parts = append(parts, seg)
	}
	out := strings.Join(parts, "/")
	if len(out) > 200 {
		out = strings.TrimLeft(out[len(out)-200:], "/")
	}
	if out == "" {
		return "", fmt.Errorf("%w: an empty path", ErrInvalid)
	}
	return out, nil
}

// FolderTag is the tag a file of an archive or folder gets for the folder
// it is in ("folder:policies/hr"), or "" at the top or when the folder
// does not make a valid tag.
func FolderTag(p string) string {
	dir := path.Dir(p)
	if dir == "." || dir == "/" {
		return ""
	}
	tag := "folder:" + strings.ToLower(dir)
	if _, err := CleanTags([]string{tag}); err != nil {
		return ""
	}
	return tag
}

// ExpandZip reads the files of a zip archive. Folders are passed over; an
// entry whose path is unsafe, that is itself an archive, or that exceeds
// the document size limit is skipped with its reason. Too many entries,
// too much in all, or a compression ratio only a bomb has refuses the
// whole archive (ErrTooLarge).
func ExpandZip(body []byte, maxBytes int64) ([]BundleFile, []Skipped, error) {
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: not a readable zip archive: %v", ErrUnsupported, err) //nolint:errorlint // the cause is told, not wrapped
	}
	if len(zr.File) > ArchiveMaxEntries {
		return nil, nil, fmt.Errorf("%w: the archive has %d entries, more than %d", ErrTooLarge, len(zr.File), ArchiveMaxEntries)
	}
	maxTotal := ArchiveMaxTotalFactor * maxBytes
	var (
		files   []BundleFile
		skipped []Skipped
		total   int64
	)
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		name, err := CleanPath(f.Name)
		if err != nil {
			skipped = append(skipped, Skipped{Name: f.Name, Reason: "unsafe path: " + strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": ")})
			continue
		}
		if strings.EqualFold(path.Ext(name), ".zip") {
			skipped = append(skipped, Skipped{Name: name, Reason: "an archive inside the archive is not expanded"})
			continue
		}
		if f.UncompressedSize64 > uint64(maxBytes) { //nolint:gosec // G115: a positive configured limit
			skipped = append(skipped, Skipped{Name: name, Reason: fmt.Sprintf("larger than the %d-byte limit (kb_max_bytes)", maxBytes)})
			continue
		}
		data, err := readEntry(f, min(maxBytes, maxTotal-total))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		total += int64(len(data))
		files = append(files, BundleFile{Path: name, Body: data})
	}
	return files, skipped, nil
}

// readEntry reads one entry, at most limit bytes, whatever it declares.
func readEntry(f *zip.File, limit int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, err) //nolint:errorlint // the cause is told, not wrapped
	}
	defer rc.Close()
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, err) //nolint:errorlint // the cause is told, not wrapped
	}
	if n > archiveRatioFloor && n > ArchiveMaxRatio*int64(max(f.CompressedSize64, 1)) { //nolint:gosec // G115: a size read from the archive, compared only
		return nil, fmt.Errorf("%w: the archive expands more than %d times (a zip bomb?): refused", ErrTooLarge, ArchiveMaxRatio)
	}
	if n > limit {
		return nil, fmt.Errorf("%w: the archive holds more than its declared sizes or the %d-byte total limit: refused", ErrTooLarge, limit)
	}
	return buf.Bytes(), nil
}

// PrepareBundle checks every file of an archive or folder as an upload
// checks one, and sorts them into the files to import and those skipped
// (unsupported, empty, too large, unsafe name), each with its reason.
func PrepareBundle(files []BundleFile, maxBytes int64) (ok []BundleFile, skipped []Skipped) {
	for _, f := range files {
		err := CheckFile(f.Path, f.Body, maxBytes)
		switch {
		case err == nil:
			ok = append(ok, f)
		case errors.Is(err, ErrUnsupported), errors.Is(err, ErrTooLarge), errors.Is(err, ErrInvalid):
			skipped = append(skipped, Skipped{Name: f.Path, Reason: err.Error()})
		default:
			skipped = append(skipped, Skipped{Name: f.Path, Reason: "unreadable"})
		}
	}
	return ok, skipped
}

// BundleTags are the tags of one file of an archive or folder: those of
// the request and its folder's.
func BundleTags(tags []string, p string) []string {
	out := append([]string{}, tags...)
	if t := FolderTag(p); t != "" {
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
