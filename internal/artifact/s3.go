package artifact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config says where an S3 (or MinIO) store keeps artifacts.
type S3Config struct {
	// Endpoint is the server's URL: https://s3.eu-west-1.amazonaws.com,
	// http://minio:9000.
	Endpoint  string
	Region    string
	Bucket    string
	Prefix    string // keys are stored under this prefix, if set
	AccessKey string
	SecretKey string // empty with AccessKey empty: the environment's or instance's credentials
}

// S3 stores artifacts as objects in a bucket.
type S3 struct {
	c      *minio.Client
	bucket string
	prefix string
}

// NewS3 connects to the bucket, which must exist.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("artifact S3 endpoint %q: want http(s)://host[:port]", cfg.Endpoint)
	}
	creds := credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")
	if cfg.AccessKey == "" {
		creds = credentials.NewChainCredentials([]credentials.Provider{&credentials.EnvAWS{}, &credentials.EnvMinio{},
			&credentials.IAM{}})
	}
	c, err := minio.New(u.Host, &minio.Options{Creds: creds, Secure: u.Scheme == "https", Region: cfg.Region})
	if err != nil {
		return nil, fmt.Errorf("artifact S3 client: %w", err)
	}
	ok, err := c.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("artifact bucket %s at %s: %w", cfg.Bucket, u.Host, err)
	}
	if !ok {
		return nil, fmt.Errorf("artifact bucket %s does not exist at %s", cfg.Bucket, u.Host)
	}
	return &S3{c: c, bucket: cfg.Bucket, prefix: strings.Trim(cfg.Prefix, "/")}, nil
}

func (s *S3) object(key string) (string, error) {
	if !safeKey.MatchString(key) || strings.Contains(key, "..") {
		return "", fmt.Errorf("artifact: invalid key %q", key)
	}
	if s.prefix == "" {
		return key, nil
	}
	return s.prefix + "/" + key, nil
}

// Put streams r to the bucket in parts, so an artifact of any size holds
// one part in memory. An upload over maxBytes is removed and refused.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, maxBytes int64) (Object, error) {
	name, err := s.object(key)
	if err != nil {
		return Object{}, err
	}
	counted := &limitedReader{r: &ctxReader{ctx, r}, max: maxBytes}
	// minio-go signs the payload of each part; gofakes3 and some gateways
	// mishandle the chunked signature over plain HTTP, so the body is
	// sent unsigned (TLS protects it in production).
	info, err := s.c.PutObject(ctx, s.bucket, name, counted, -1, minio.PutObjectOptions{ContentType: "application/octet-stream",
		DisableContentSha256: true, PartSize: 16 << 20})
	if err == nil && counted.over {
		err = ErrTooLarge
	}
	if err != nil {
		_ = s.c.RemoveObject(context.WithoutCancel(ctx), s.bucket, name, minio.RemoveObjectOptions{})
		if counted.over {
			return Object{}, ErrTooLarge
		}
		return Object{}, fmt.Errorf("store artifact %s: %w", key, err)
	}
	return Object{Key: key, Size: info.Size}, nil
}

// Open reads an artifact; a missing one is os.ErrNotExist.
func (s *S3) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	name, err := s.object(key)
	if err != nil {
		return nil, err
	}
	if _, err := s.c.StatObject(ctx, s.bucket, name, minio.StatObjectOptions{}); err != nil {
		if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
			return nil, fmt.Errorf("artifact %s: %w", key, os.ErrNotExist)
		}
		return nil, fmt.Errorf("artifact %s: %w", key, err)
	}
	return s.c.GetObject(ctx, s.bucket, name, minio.GetObjectOptions{})
}

// Delete removes an artifact; a missing one is not an error.
func (s *S3) Delete(ctx context.Context, key string) error {
	name, err := s.object(key)
	if err != nil {
		return err
	}
	if err := s.c.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{}); err != nil && minio.ToErrorResponse(err).Code != minio.NoSuchKey {
		return err
	}
	return nil
}

// limitedReader ends the stream at max bytes and notes that there was more.
type limitedReader struct {
	r    io.Reader
	max  int64
	n    int64
	over bool
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.max > 0 && l.n >= l.max {
		// Probe one byte: exactly at the limit is allowed.
		var one [1]byte
		if m, _ := l.r.Read(one[:]); m > 0 {
			l.over = true
			return 0, errors.New("artifact larger than the limit")
		}
		return 0, io.EOF
	}
	if l.max > 0 && int64(len(p)) > l.max-l.n {
		p = p[:l.max-l.n]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	return n, err
}
