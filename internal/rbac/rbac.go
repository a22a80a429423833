// Package rbac names the permissions that guard every route. Every route
// declares exactly one permission when it is registered (see
// httpapi.Register); a route cannot be added without one, and a test walks
// the router to prove it.
package rbac

// Permission is a named right, such as "findings:read".
type Permission string

// Public marks a route that anyone may call without signing in: health
// probes, metrics for the scraper, the OpenAPI document, the web UI's static
// files and the system status the login page shows. Declaring it is a
// deliberate act, visible in review and in the OpenAPI document.
const Public Permission = "public"
