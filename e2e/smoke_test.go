package e2e

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/refstore/refstore/wire"
)

// TestWordbeeQuickstart is the sequence of the Wordbee docs' curl examples: upload media,
// attach it to segment 27665601 of project 7214, list, download, delete.
func TestWordbeeQuickstart(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		pm := newTenant(t, c).as("pm")
		data := randomBytes(2268156)
		token := pm.upload("pexels-gons3.jpg", data)
		a := pm.attach("pr7214", segA1, map[string]string{"filetoken": token, "locale": "en"})
		a.expect(t, 200)
		var asset wire.Asset
		a.json(t, &asset)
		if asset.ProjectID != projectID || asset.DocumentID != docA || asset.SegmentID != segA1 ||
			asset.Locale == nil || *asset.Locale != "en" || asset.RelativePath != "" || asset.Name != "pexels-gons3.jpg" ||
			asset.Size != int64(len(data)) {
			t.Fatalf("asset JSON: %+v", asset)
		}
		list := pm.do("GET", fmt.Sprintf("/api/resources/assets/%d/list?scope=pr7214", segA1), nil).expect(t, 200)
		var assets []wire.Asset
		list.json(t, &assets)
		if len(assets) != 1 || assets[0].ID != asset.ID {
			t.Fatalf("list: %+v", assets)
		}
		got := pm.do("GET", fmt.Sprintf("/api/resources/assets/%d?locale=en&scope=pr7214&filename=pexels-gons3.jpg", segA1), nil).expect(t, 200)
		if !bytes.Equal(got.body, data) {
			t.Fatalf("downloaded %d bytes that differ from the %d uploaded", len(got.body), len(data))
		}
		pm.do("DELETE", fmt.Sprintf("/api/resources/assets/%d?scope=pr7214&filename=pexels-gons3.jpg&locale=en", segA1), nil).expect(t, 200)
		pm.do("GET", fmt.Sprintf("/api/resources/assets/%d?locale=en&scope=pr7214&filename=pexels-gons3.jpg", segA1), nil).
			expectError(t, 404, "asset_not_found")
	})
}
