package refstore

import (
	"errors"
	"fmt"
)

// Code is a stable, machine-readable error code. The HTTP layer maps each code to one
// status in one place; clients can branch on it instead of parsing messages. The codes
// below are the domain's; the HTTP layer adds those that only describe an HTTP request
// (a method, a body that comes too slowly).
type Code string

const (
	CodeInvalidParameter Code = "invalid_parameter"  // 400: a named parameter is malformed
	CodeInvalidBody      Code = "invalid_body"       // 400: the JSON body cannot be decoded
	CodeUnauthorized     Code = "unauthorized"       // 401: no, unknown or expired token
	CodeInvalidKey       Code = "invalid_key"        // 401: bad account or API key at login
	CodeForbidden        Code = "forbidden"          // 403: authenticated, but the right is missing
	CodeNotFound         Code = "not_found"          // 404: generic (route, catalog entry)
	CodeScopeNotFound    Code = "scope_not_found"    // 404: project, job or document unknown in the account
	CodeSegmentNotFound  Code = "segment_not_found"  // 404: segment unknown or outside the scope
	CodeAssetNotFound    Code = "asset_not_found"    // 404: no asset at that address or id
	CodeFileTokenInvalid Code = "file_token_invalid" // 404: file token unknown, expired or not the caller's
	CodeConflict         Code = "conflict"           // 409: the request clashes with existing state
	CodeTooLarge         Code = "too_large"          // 413: upload over maxsize or the hard limit
	CodeUnsupportedMedia Code = "unsupported_media"  // 415: a content type the operation does not take
	CodeRateLimited      Code = "rate_limited"       // 429
	CodeInternal         Code = "internal"           // 500
	CodeUnavailable      Code = "unavailable"        // 503: a backend is down
	CodeStorageFull      Code = "storage_full"       // 507: no space left, or read-only storage
	CodeQuotaExceeded    Code = "quota_exceeded"     // 507: the account's storage quota would be exceeded
)

// Codes of previews (package preview), in a block of their own so that their longer names
// leave the alignment above alone.
const (
	CodeOutOfRange      Code = "out_of_range"        // 404: no such page in the PDF, or t= past the video's end
	CodeImageTooLarge   Code = "image_too_large"     // 422: declared pixel size over the decoding limit (a decompression bomb)
	CodeMediaUnreadable Code = "media_unreadable"    // 422: no preview: corrupt file, or over the tool's time or memory limit
	CodeNoPreviewTool   Code = "preview_unavailable" // 501: the tool or sandbox this kind of preview needs is not installed
)

// Error is the one error type of the domain. Message is safe to show to the caller: it
// never carries a path on the host, a secret or a stack.
type Error struct {
	Code    Code
	Message string
	// Param names the offending parameter for CodeInvalidParameter.
	Param string
	// Err is the underlying cause, for logs only.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// InvalidParam reports a malformed parameter and names it, as every 400 must.
func InvalidParam(param, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidParameter, Param: param,
		Message: fmt.Sprintf("Invalid parameter '%s': %s", param, fmt.Sprintf(format, args...))}
}

// Internal wraps an unexpected failure; the caller sees only a generic message.
func Internal(err error) *Error {
	return &Error{Code: CodeInternal, Message: "Internal error.", Err: err}
}

// ErrorCode returns the code of err, CodeInternal when err is not an *Error, or "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// AsError converts any error into an *Error, wrapping unknown ones as internal.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(err)
}
