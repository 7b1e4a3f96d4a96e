// Package refstore is the domain of refstore: the reference media that translators see
// next to the segments they translate.
//
// It holds the types (Asset, Scope, Address, Catalog, Rights), the rules that need no
// infrastructure (path, locale and scope validation, content types, .NET ticks), the error
// type with its stable codes, and the interfaces of the stores. It imports no database,
// filesystem or HTTP package: sqlstore/, filestore/ and http/ implement or use what is
// declared here, service/ orchestrates it, and cmd/refstore wires it all together.
package refstore
