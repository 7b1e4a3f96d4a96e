package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// The benchmark's tenant: one account, one project, documents of segments.
const (
	benchAccount  = "bench"
	benchKey      = "bench-api-key-0123456789"
	benchProject  = 7214
	benchDocument = 19641
	adminToken    = "bench-admin-token"
)

// api talks to one refstore server as the benchmark's user.
type api struct {
	base  string
	token string
}

func (a *api) header() http.Header {
	return http.Header{"X-Auth-Token": {a.token}, "X-Auth-Accountid": {benchAccount}}
}

// loadCatalog creates the tenant with segments [first, first+n) in one document.
func loadCatalog(base string, first, n int64) error {
	segs := make([]int64, n)
	for i := range segs {
		segs[i] = first + int64(i)
	}
	cat := map[string]any{"accounts": []any{map[string]any{
		"id": benchAccount, "users": []any{map[string]any{"id": 1, "name": "bench", "apiKey": benchKey}},
		"projects": []any{map[string]any{"id": benchProject, "documents": []any{
			map[string]any{"id": benchDocument, "segments": segs}}}},
		"grants": []any{map[string]any{"userId": 1, "projectId": benchProject, "rights": []string{"read", "upload", "delete"}}},
	}}}
	body, _ := json.Marshal(cat)
	req, _ := http.NewRequest("PUT", base+"/admin/v1/catalog", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("catalog: %s: %s", resp.Status, b)
	}
	return nil
}

func login(base string) (*api, error) {
	resp, err := http.Post(base+"/api/auth/token", "application/json",
		strings.NewReader(fmt.Sprintf(`{"accountid":%q,"key":%q}`, benchAccount, benchKey)))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var token string
	if err := json.NewDecoder(resp.Body).Decode(&token); err != nil || resp.StatusCode != 200 {
		return nil, fmt.Errorf("login: %s %v", resp.Status, err)
	}
	return &api{base: base, token: token}, nil
}

// multipartUpload is a streamed multipart/form-data body of one file part: the part
// headers, the bytes of r, the closing delimiter.
func multipartUpload(name string, r io.Reader) (io.Reader, string, int64) {
	const boundary = "refstorebenchboundary7MA4YWxkTrZu0gW"
	head := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + name +
		"\"\r\nContent-Type: application/octet-stream\r\n\r\n"
	tail := "\r\n--" + boundary + "--\r\n"
	return io.MultiReader(strings.NewReader(head), r, strings.NewReader(tail)),
		"multipart/form-data; boundary=" + boundary, int64(len(head) + len(tail))
}

// uploadURL is the media upload route.
func (a *api) uploadURL(name string) string {
	return a.base + "/api/media/upload?filename=" + url.QueryEscape(name)
}

func (a *api) attachURL(segment int64) string {
	return fmt.Sprintf("%s/api/resources/assets/%d?scope=pr%d", a.base, segment, benchProject)
}

// downloadURL is the authenticated Wordbee download route of an asset.
func (a *api) downloadURL(segment int64, locale, name string) string {
	return fmt.Sprintf("%s/api/resources/assets/%d?scope=pr%d&filename=%s&locale=%s", a.base, segment, benchProject,
		url.QueryEscape(name), locale)
}

// put uploads data under name and attaches it to a segment.
func (a *api) put(segment int64, locale, name string, r io.Reader, size int64) error {
	token, err := a.upload(name, r, size)
	if err != nil {
		return err
	}
	return a.attach(http.DefaultClient, segment, locale, token)
}

// upload uploads size bytes of r under name and returns the file token.
func (a *api) upload(name string, r io.Reader, size int64) (string, error) {
	body, ct, extra := multipartUpload(name, r)
	req, _ := http.NewRequest("POST", a.uploadURL(name), body)
	req.ContentLength = size + extra
	req.Header = a.header()
	req.Header.Set("Content-Type", ct)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	var up struct{ Result struct{ Token string } }
	err = json.NewDecoder(resp.Body).Decode(&up)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		return "", fmt.Errorf("upload: %s %v", resp.Status, err)
	}
	return up.Result.Token, nil
}

// attachAs attaches a file token to a segment under a folder of its own.
func (a *api) attachAs(c *http.Client, segment int64, folder, token string) error {
	req, _ := http.NewRequest("POST", a.attachURL(segment),
		strings.NewReader(fmt.Sprintf(`{"filetoken":%q,"relativePath":%q}`, token, folder)))
	req.Header = a.header()
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("attach: %s", resp.Status)
	}
	return nil
}

func (a *api) attach(c *http.Client, segment int64, locale, token string) error {
	req, _ := http.NewRequest("POST", a.attachURL(segment),
		strings.NewReader(fmt.Sprintf(`{"filetoken":%q,"locale":%q}`, token, locale)))
	req.Header = a.header()
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("attach: %s", resp.Status)
	}
	return nil
}

// deleteAll deletes every asset of a segment.
func (a *api) deleteAll(segment int64) error {
	req, _ := http.NewRequest("DELETE", a.attachURL(segment), nil)
	req.Header = a.header()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}
