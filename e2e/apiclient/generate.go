// Package apiclient is a client generated from the platform's OpenAPI
// document (web/src/api/openapi.json) by oapi-codegen, a tool dependency in
// go.mod, for the operations a CI pipeline uses: who am I, upload a report,
// follow its import, read its findings. e2e/TestGeneratedClient checks that
// it is what the committed document generates and that it works against
// cspm serve; `make openapi` regenerates it.
package apiclient

//go:generate go tool oapi-codegen -generate types,client -package apiclient -include-operation-ids get-me,upload-import,get-import,list-findings -o client.gen.go ../../web/src/api/openapi.json
