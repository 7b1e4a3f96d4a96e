package refstore

import "testing"

func TestValidateWebhookURL(t *testing.T) {
	for _, ok := range []string{"https://hooks.example.com/refstore", "http://10.0.0.5:8080/in?token=x"} {
		if _, err := ValidateWebhookURL(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "ftp://x/", "https://", "https://user:pw@example.com/", "https://example.com/#frag",
		"/relative", "https://example.com/" + string(make([]byte, MaxWebhookURLBytes))} {
		err := ValidateWebhookURL2(bad)
		if ErrorCode(err) != CodeInvalidParameter {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func ValidateWebhookURL2(s string) error { _, err := ValidateWebhookURL(s); return err }

func TestParseEventTypes(t *testing.T) {
	got, err := ParseEventTypes([]string{"asset.deleted", "asset.deleted", "upload.completed"})
	if err != nil || len(got) != 2 {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := ParseEventTypes([]string{"asset.created"}); ErrorCode(err) != CodeInvalidParameter {
		t.Fatalf("unknown type: %v", err)
	}
	e := WebhookEndpoint{Events: got}
	if !e.Wants(EventAssetDeleted) || e.Wants(EventAssetAttached) || !(&WebhookEndpoint{}).Wants(EventAssetAttached) {
		t.Fatal("Wants")
	}
}
