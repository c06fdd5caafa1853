package config

import (
	"fmt"
	"net/url"

	"github.com/cloudscout/cloudscout/uploader"
)

// Target is one upload destination: file://DIR, https://HOST/PATH or
// s3://BUCKET/PREFIX, with the sink's options beside the URL.
type Target struct {
	Name                 string `yaml:"name"`
	URL                  string `yaml:"url"`
	uploader.SinkOptions `yaml:",inline"`
}

func (t Target) validate() error {
	u, err := url.Parse(t.URL)
	if err != nil {
		return fmt.Errorf("url: %w", err)
	}
	switch u.Scheme {
	case "file", "https", "s3":
	default:
		return fmt.Errorf("url %q: scheme must be file, https or s3", t.URL)
	}
	return nil
}
