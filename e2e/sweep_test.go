package e2e

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// TestSweepExpiredFileTokens runs a cluster whose file tokens live 2 s and whose sweeper
// runs every 300 ms. An upload never attached is refused once its token expired (attach
// and media get: 404 file_token_invalid) and, on the embedded backend, its blob file goes;
// an upload that was attached keeps its bytes after its token expired (and after a second
// upload of the same bytes, stored as the same blob, expired too).
func TestSweepExpiredFileTokens(t *testing.T) {
	const ttl = 2 * time.Second
	forEachBackendWith(t, []string{"--file-token-ttl", ttl.String(), "--sweep-interval", "300ms"}, func(t *testing.T, c *cluster) {
		pm := newTenant(t, c).as("pm")
		scope := fmt.Sprintf("pr%d", projectID)
		lonely, kept := randomBytes(70_001), randomBytes(50_003)
		lonelyToken := pm.upload("lonely.bin", lonely)
		keptToken := pm.upload("kept.bin", kept)
		// The same bytes again, under another name and token: stored once.
		twinToken := pm.upload("twin.bin", kept)
		uploaded := time.Now()
		pm.attach(scope, segA1, map[string]string{"filetoken": keptToken}).expect(t, 200)

		// Before expiry: both tokens work, and both contents have a blob.
		got := pm.do("GET", "/api/media/get/"+lonelyToken, nil).expect(t, 200)
		if !bytes.Equal(got.body, lonely) {
			t.Fatalf("media get returned %d bytes that are not the upload's", len(got.body))
		}
		embedded := c.backend.name == "embedded"
		var data string
		if embedded {
			data = c.nodes[0].opts.Data
			blobs := rbBlobHashes(t, data, pm.account)
			if len(blobs[rbSHA256(lonely)]) != 1 || len(blobs[rbSHA256(kept)]) != 1 {
				t.Fatalf("before expiry, want one blob file per upload; have %v", blobs)
			}
		}

		// Only sleeping lets the tokens expire.
		time.Sleep(time.Until(uploaded.Add(ttl + 500*time.Millisecond)))

		pm.attach(scope, segA2, map[string]string{"filetoken": lonelyToken}).expectError(t, 404, "file_token_invalid")
		pm.do("GET", "/api/media/get/"+lonelyToken, nil).expectError(t, 404, "file_token_invalid")
		pm.attach(scope, segA2, map[string]string{"filetoken": keptToken}).expectError(t, 404, "file_token_invalid")
		pm.do("GET", "/api/media/get/"+keptToken, nil).expectError(t, 404, "file_token_invalid")
		pm.do("GET", "/api/media/get/"+twinToken, nil).expectError(t, 404, "file_token_invalid")

		if embedded {
			// The sweeper removes the bytes nothing references any more; give it a few
			// rounds (this waits for the sweep, it does not time it).
			var blobs map[string][]string
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				blobs = rbBlobHashes(t, data, pm.account)
				if len(blobs[rbSHA256(lonely)]) == 0 || time.Now().After(deadline) {
					break
				}
			}
			if paths := blobs[rbSHA256(lonely)]; len(paths) != 0 {
				t.Errorf("the blob of the expired, never attached upload is still there: %v", paths)
			}
			if paths := blobs[rbSHA256(kept)]; len(paths) != 1 {
				t.Errorf("the attached upload's blob: %v, want exactly one file", paths)
			}
			if len(blobs) != 1 {
				t.Errorf("blob files left: %v, want only the attached content's", blobs)
			}
		}

		// The attached bytes outlive their token.
		got = pm.do("GET", fmt.Sprintf("/api/resources/assets/%d?scope=%s&filename=kept.bin", segA1, scope), nil).expect(t, 200)
		if !bytes.Equal(got.body, kept) {
			t.Fatalf("download after the token expired: %d bytes that are not the attached ones", len(got.body))
		}
		var list []assetJSON
		pm.do("GET", fmt.Sprintf("/api/resources/assets/list?scope=%s&segmentIds=%d,%d", scope, segA1, segA2), nil).
			expect(t, 200).json(t, &list)
		if len(list) != 1 || list[0].Name != "kept.bin" || list[0].Size != int64(len(kept)) {
			t.Errorf("list after expiry: %+v", list)
		}
	})
}
