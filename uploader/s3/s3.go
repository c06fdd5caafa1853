// Package s3 is the s3:// sink for Amazon S3 and S3-compatible stores.
//
// URL: s3://bucket/prefix. A batch with key K is stored as object
// <prefix>/K. Options: region, endpoint (for MinIO, Ceph, Wasabi...),
// path_style, access_key_file/secret_key_file (else the AWS SDK default
// chain), sse (AES256 or aws:kms with sse_kms_key_id).
//
// Every write is conditional (If-None-Match: *). Keys are deterministic, so
// 412 PreconditionFailed means this batch is already stored: success. That
// makes a retry after a lost reply harmless and keeps one object per batch.
// Batches from multipart_threshold (64 MiB) on go up in parts; the completing
// call is conditional too, and a failed upload is aborted. The manifest
// travels as object metadata (x-amz-meta-cloudscout-*), and in sidecar mode
// also as <key>.manifest.json. The sink never lists the bucket: it needs
// s3:PutObject (and s3:AbortMultipartUpload) only.
//
// The SDK's own retries are off: the uploader retries with a fresh body,
// backoff and error classification shared by all sinks.
package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/cloudscout/cloudscout/uploader"
	"github.com/cloudscout/cloudscout/uploader/internal/transport"
	"github.com/cloudscout/cloudscout/uploader/internal/wire"
)

func init() {
	uploader.RegisterSink("s3", func(u *url.URL, o uploader.SinkOptions) (uploader.Sink, error) {
		return New(u, o)
	})
}

// Sink writes batches into one bucket under one prefix.
type Sink struct {
	bucket string
	prefix string
	opts   uploader.SinkOptions
	client *awss3.Client
	desc   string
}

var _ uploader.Sink = (*Sink)(nil)

// maxParts is S3's limit on parts per upload.
const maxParts = 10000

// abortTimeout bounds the clean-up of a failed multipart upload; it runs
// even on shutdown, so keep it well inside a container's stop grace period.
const abortTimeout = 5 * time.Second

// New builds an S3 sink. It reads the SDK configuration (environment,
// shared files) but makes no request.
func New(u *url.URL, o uploader.SinkOptions) (*Sink, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.WithDefaults()
	if u.Scheme != "s3" {
		return nil, fmt.Errorf("s3 sink: scheme %q", u.Scheme)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("s3 sink: the URL takes no user, query or fragment; use access_key_file/secret_key_file")
	}
	if u.Host == "" {
		return nil, errors.New("s3 sink: URL has no bucket (s3://bucket/prefix)")
	}
	prefix := strings.Trim(u.Path, "/")
	if prefix != "" {
		if err := uploader.ValidKey(prefix); err != nil {
			return nil, fmt.Errorf("s3 sink: prefix: %w", err)
		}
		prefix += "/"
	}
	switch o.SSE {
	case "", string(types.ServerSideEncryptionAes256):
		if o.SSEKMSKeyID != "" {
			return nil, errors.New("s3 sink: sse_kms_key_id needs sse aws:kms")
		}
	case string(types.ServerSideEncryptionAwsKms):
	default:
		return nil, fmt.Errorf("s3 sink: sse %q, want AES256 or aws:kms", o.SSE)
	}
	if o.Method != "" {
		return nil, errors.New("s3 sink: method applies to https targets only")
	}
	if o.TokenFile != "" || o.TokenEnv != "" || len(o.Headers) > 0 {
		return nil, errors.New("s3 sink: token_file, token_env and headers apply to https targets only")
	}
	if o.PartSize < uploader.MinPartSize {
		return nil, fmt.Errorf("s3 sink: part_size %d is below the S3 minimum of 5 MiB", o.PartSize)
	}
	if (o.AccessKeyFile == "") != (o.SecretKeyFile == "") {
		return nil, errors.New("s3 sink: access_key_file and secret_key_file go together")
	}
	settings, err := transport.Build(o)
	if err != nil {
		return nil, fmt.Errorf("s3 sink: %w", err)
	}
	loadOpts := []func(*config.LoadOptions) error{
		// A BuildableClient, so the SDK can still add AWS_CA_BUNDLE.
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(settings.Apply)),
		// No flexible checksums unless required: they would need a second
		// read of the body or aws-chunked encoding, which S3-compatible
		// stores handle unevenly. Integrity comes from x-amz-checksum-sha256
		// (single PUT) and Content-MD5 (parts).
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	}
	if o.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(o.Region))
	}
	if o.AccessKeyFile != "" {
		for _, f := range []string{o.AccessKeyFile, o.SecretKeyFile} {
			if _, err := os.Stat(f); err != nil {
				return nil, fmt.Errorf("s3 sink: key file: %w", err)
			}
		}
		loadOpts = append(loadOpts, config.WithCredentialsProvider(fileCredentials(o.AccessKeyFile, o.SecretKeyFile)))
	}
	if !o.InstanceRole {
		loadOpts = append(loadOpts, config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("s3 sink: load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		// S3-compatible stores accept any region; AWS redirects errors name the right one.
		cfg.Region = "us-east-1"
	}
	client := awss3.NewFromConfig(cfg, func(so *awss3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
		so.UsePathStyle = o.PathStyle
		so.Retryer = aws.NopRetryer{}
	})
	desc := "s3://" + u.Host + "/" + prefix
	if o.Endpoint != "" {
		if eu, err := url.Parse(o.Endpoint); err == nil {
			desc += " at " + eu.Redacted()
		}
	}
	return &Sink{bucket: u.Host, prefix: prefix, opts: o, client: client, desc: desc}, nil
}

// fileCredentials reads static keys from files, again every few minutes so
// rotated keys are picked up. Errors name the file, never its content.
func fileCredentials(akFile, skFile string) aws.CredentialsProvider {
	return aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		ak, err := os.ReadFile(akFile)
		if err != nil {
			return aws.Credentials{}, fmt.Errorf("%w: read access key file: %w", uploader.ErrCredentials, err)
		}
		sk, err := os.ReadFile(skFile)
		if err != nil {
			return aws.Credentials{}, fmt.Errorf("%w: read secret key file: %w", uploader.ErrCredentials, err)
		}
		a, s := strings.TrimSpace(string(ak)), strings.TrimSpace(string(sk))
		if a == "" || s == "" {
			return aws.Credentials{}, fmt.Errorf("%w: access or secret key file is empty", uploader.ErrCredentials)
		}
		return aws.Credentials{
			AccessKeyID: a, SecretAccessKey: s, Source: "cloudscout key files",
			CanExpire: true, Expires: time.Now().Add(5 * time.Minute),
		}, nil
	}))
}

func (s *Sink) String() string { return s.desc }

// Put stores the batch as <prefix><key>, conditionally.
func (s *Sink) Put(ctx context.Context, key string, body io.Reader, size int64, m uploader.Manifest) error {
	if err := uploader.ValidKey(key); err != nil {
		return uploader.Permanent(err)
	}
	objKey := s.prefix + key
	var err error
	if size >= s.opts.MultipartThreshold {
		err = s.putMultipart(ctx, objKey, body, size, m)
	} else {
		err = s.putSingle(ctx, objKey, body, size, m)
	}
	if err != nil || s.opts.ManifestMode != uploader.ManifestSidecar {
		return err
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	side := uploader.Manifest{ContentType: "application/json", SHA256: hex.EncodeToString(sum[:])}
	return s.putSingle(ctx, objKey+".manifest.json", bytes.NewReader(data), int64(len(data)), side)
}

func (s *Sink) metadata(m uploader.Manifest) map[string]string {
	md := map[string]string{}
	for _, f := range wire.Fields(m) {
		md["cloudscout-"+strings.ToLower(f.Name)] = f.Value
	}
	return md
}

func (s *Sink) sse() (types.ServerSideEncryption, *string) {
	var kms *string
	if s.opts.SSEKMSKeyID != "" {
		kms = aws.String(s.opts.SSEKMSKeyID)
	}
	return types.ServerSideEncryption(s.opts.SSE), kms
}

func optString(v string) *string {
	if v == "" {
		return nil
	}
	return aws.String(v)
}

func (s *Sink) putSingle(ctx context.Context, objKey string, body io.Reader, size int64, m uploader.Manifest) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout(size))
	defer cancel()
	sseAlg, kms := s.sse()
	in := &awss3.PutObjectInput{
		Bucket:               aws.String(s.bucket),
		Key:                  aws.String(objKey),
		Body:                 body,
		ContentLength:        aws.Int64(size),
		ContentType:          aws.String(wire.ContentType(m)),
		ContentEncoding:      optString(wire.ContentEncoding(m)),
		Metadata:             s.metadata(m),
		IfNoneMatch:          aws.String("*"),
		ServerSideEncryption: sseAlg,
		SSEKMSKeyId:          kms,
	}
	hash, err := bodySHA256(m.SHA256, body, 0, size)
	if err != nil {
		return err
	}
	if hash != "" {
		raw, _ := hex.DecodeString(hash)
		in.ChecksumSHA256 = aws.String(base64.StdEncoding.EncodeToString(raw))
	}
	_, err = s.client.PutObject(ctx, in, withPayloadHash(hash))
	if err != nil && !preconditionFailed(err) {
		return s.convert("PutObject", objKey, err)
	}
	return nil
}

func (s *Sink) putMultipart(ctx context.Context, objKey string, body io.Reader, size int64, m uploader.Manifest) (err error) {
	partSize := s.opts.PartSize
	if (size+partSize-1)/partSize > maxParts {
		partSize = (size + maxParts - 1) / maxParts
	}
	sseAlg, kms := s.sse()
	cctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout(0))
	created, err := s.client.CreateMultipartUpload(cctx, &awss3.CreateMultipartUploadInput{
		Bucket:               aws.String(s.bucket),
		Key:                  aws.String(objKey),
		ContentType:          aws.String(wire.ContentType(m)),
		ContentEncoding:      optString(wire.ContentEncoding(m)),
		Metadata:             s.metadata(m),
		ServerSideEncryption: sseAlg,
		SSEKMSKeyId:          kms,
	})
	cancel()
	if err != nil {
		return s.convert("CreateMultipartUpload", objKey, err)
	}
	uploadID := created.UploadId
	defer func() {
		if err == nil {
			return
		}
		// Abort on any failure (even a cancelled ctx) so no parts linger and bill.
		actx, acancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
		defer acancel()
		_, _ = s.client.AbortMultipartUpload(actx, &awss3.AbortMultipartUploadInput{
			Bucket: aws.String(s.bucket), Key: aws.String(objKey), UploadId: uploadID,
		})
	}()

	ra, hasRA := body.(io.ReaderAt)
	var parts []types.CompletedPart
	var buf []byte
	for num, off := int32(1), int64(0); off < size; num, off = num+1, off+partSize {
		n := min(partSize, size-off)
		var partBody io.Reader
		var sum256, sumMD5 []byte
		if hasRA {
			// Hash from the unthrottled file, send through the throttled one.
			src, _ := uploader.Unlimited(body).(io.ReaderAt)
			if src == nil {
				src = ra
			}
			sum256, sumMD5, err = hashSection(io.NewSectionReader(src, off, n))
			if err != nil {
				return fmt.Errorf("read batch part %d: %w", num, err)
			}
			partBody = io.NewSectionReader(ra, off, n)
		} else {
			// Bounded by part_size: the one copy kept in memory.
			if buf == nil {
				buf = make([]byte, partSize)
			}
			if _, err = io.ReadFull(body, buf[:n]); err != nil {
				return fmt.Errorf("read batch part %d: %w", num, err)
			}
			sum256, sumMD5, _ = hashSection(bytes.NewReader(buf[:n]))
			partBody = bytes.NewReader(buf[:n])
		}
		pctx, pcancel := context.WithTimeout(ctx, s.opts.RequestTimeout(n))
		out, perr := s.client.UploadPart(pctx, &awss3.UploadPartInput{
			Bucket:        aws.String(s.bucket),
			Key:           aws.String(objKey),
			UploadId:      uploadID,
			PartNumber:    aws.Int32(num),
			Body:          partBody,
			ContentLength: aws.Int64(n),
			ContentMD5:    aws.String(base64.StdEncoding.EncodeToString(sumMD5)),
		}, withPayloadHash(hex.EncodeToString(sum256)))
		pcancel()
		if perr != nil {
			return s.convert(fmt.Sprintf("UploadPart %d", num), objKey, perr)
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(num)})
	}
	cctx, cancel = context.WithTimeout(ctx, s.opts.RequestTimeout(0))
	defer cancel()
	_, err = s.client.CompleteMultipartUpload(cctx, &awss3.CompleteMultipartUploadInput{
		Bucket:          aws.String(s.bucket),
		Key:             aws.String(objKey),
		UploadId:        uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
		IfNoneMatch:     aws.String("*"),
	})
	if err != nil {
		if preconditionFailed(err) {
			// Already stored by an earlier attempt. Abort the now useless upload.
			actx, acancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
			defer acancel()
			_, _ = s.client.AbortMultipartUpload(actx, &awss3.AbortMultipartUploadInput{
				Bucket: aws.String(s.bucket), Key: aws.String(objKey), UploadId: uploadID,
			})
			return nil
		}
		return s.convert("CompleteMultipartUpload", objKey, err)
	}
	return nil
}

func hashSection(r io.Reader) (sum256, sumMD5 []byte, err error) {
	h, hm := sha256.New(), md5.New()
	if _, err := io.Copy(io.MultiWriter(h, hm), r); err != nil {
		return nil, nil, err
	}
	return h.Sum(nil), hm.Sum(nil), nil
}

// bodySHA256 returns the hex SHA-256 of the body: the manifest's when valid,
// else computed from the unthrottled file; "" when neither is possible.
func bodySHA256(manifest string, body io.Reader, off, size int64) (string, error) {
	if raw, err := hex.DecodeString(manifest); err == nil && len(raw) == sha256.Size {
		return strings.ToLower(manifest), nil
	}
	ra, ok := uploader.Unlimited(body).(io.ReaderAt)
	if !ok {
		return "", nil
	}
	sum, _, err := hashSection(io.NewSectionReader(ra, off, size))
	if err != nil {
		return "", fmt.Errorf("hash batch: %w", err)
	}
	return hex.EncodeToString(sum), nil
}

// withPayloadHash hands SigV4 the payload hash we already know, so the SDK
// neither reads the body twice nor needs it seekable. Without a hash the
// payload is sent unsigned (still covered by TLS and the checksums).
func withPayloadHash(hash string) func(*awss3.Options) {
	if hash == "" {
		hash = "UNSIGNED-PAYLOAD"
	}
	return func(o *awss3.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("CloudScoutPayloadHash",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
					middleware.FinalizeOutput, middleware.Metadata, error,
				) {
					return next.HandleFinalize(v4.SetPayloadHash(ctx, hash), in)
				}), "ComputePayloadHash", middleware.Before)
		})
	}
}

func preconditionFailed(err error) bool {
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusPreconditionFailed {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "PreconditionFailed"
}

// permanentCodes are S3 answers about the batch itself; everything else
// (auth, bucket, region, throttling) is about the target and retried.
var permanentCodes = map[string]bool{
	"BadDigest": true, "InvalidDigest": true, "XAmzContentSHA256Mismatch": true,
	"EntityTooLarge": true, "EntityTooSmall": true, "IncompleteBody": true,
	"KeyTooLongError": true, "MetadataTooLarge": true, "InvalidObjectName": true,
}

// convert turns an SDK error into uploader.StatusError (or PermanentError).
func (s *Sink) convert(op, objKey string, err error) error {
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.Response == nil || re.HTTPStatusCode() == 0 {
		// No HTTP answer: a network failure, classified by its cause.
		return fmt.Errorf("s3 %s s3://%s/%s: %w", op, s.bucket, objKey, err)
	}
	se := &uploader.StatusError{
		Op:     fmt.Sprintf("s3 %s s3://%s/%s", op, s.bucket, objKey),
		Status: re.HTTPStatusCode(),
		Local:  time.Now(),
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		se.Code, se.Message = ae.ErrorCode(), uploader.BodyExcerpt([]byte(ae.ErrorMessage()))
	}
	if re.Response != nil {
		se.RetryAfter = uploader.ParseRetryAfter(re.Response.Header.Get("Retry-After"), se.Local)
		if d, err := http.ParseTime(re.Response.Header.Get("Date")); err == nil {
			se.ServerDate = d
		}
	}
	if permanentCodes[se.Code] || se.Code == "" && !uploader.RetryableStatus(se.Status) {
		return uploader.Permanent(se)
	}
	return se
}
