package db

import (
	"context"
	"fmt"
)

// TenantRole is the PostgreSQL role that a team's transactions run under
// when the role in the database URL would bypass row-level security. Table
// owners are bound by the team_isolation policies already (FORCE ROW LEVEL
// SECURITY), but a superuser or a BYPASSRLS role is not: through it, a query
// that forgot its team filter would see every team's rows. The tenant role
// owns nothing and bypasses nothing, so the policies bind it, whatever role
// the operator's URL names. It is created once per cluster (NOLOGIN) and
// granted the data privileges on each logical database's schema at every
// migration.
const TenantRole = "cspm_tenant"

// prepareTenantRole decides, after a migration, whether this database's
// team transactions need the tenant role, and prepares it when they do.
func (d *DB) prepareTenantRole(ctx context.Context) error {
	if d.Dialect != Postgres {
		return nil
	}
	var super, bypass bool
	if err := d.QueryRowContext(ctx, "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user").Scan(&super, &bypass); err != nil {
		return fmt.Errorf("read the database role: %w", err)
	}
	if !super && !bypass {
		d.tenantRole = ""
		return nil
	}
	schema := quoteIdent(d.Schema)
	tx, err := d.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	stmts := []string{
		// One process at a time creates the cluster-wide role.
		"SELECT pg_advisory_xact_lock(hashtext('cspm tenant role'))",
		`DO $$ BEGIN
			IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '` + TenantRole + `') THEN
				CREATE ROLE ` + TenantRole + ` NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
			END IF;
		END $$`,
		"GRANT USAGE ON SCHEMA " + schema + " TO " + TenantRole,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + schema + " TO " + TenantRole,
		"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA " + schema + " TO " + TenantRole,
		// Tables made later in the schema, River's among them (queue.Migrate
		// runs after these migrations), get the same.
		"ALTER DEFAULT PRIVILEGES IN SCHEMA " + schema + " GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO " + TenantRole,
		"ALTER DEFAULT PRIVILEGES IN SCHEMA " + schema + " GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO " + TenantRole,
	}
	if !super {
		// A BYPASSRLS role may switch only to a role it is a member of.
		stmts = append(stmts, "GRANT "+TenantRole+" TO CURRENT_USER")
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("prepare the %s role, which binds a team's transactions to row-level security "+
				"(the database URL names a role that bypasses it; use an ordinary role, or one that may create roles): %w", TenantRole, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	d.tenantRole = TenantRole
	return nil
}

// MaintenanceStatements returns stmt wrapped for a team transaction of d:
// preceded by a switch to the connecting role and followed by one back to
// the tenant role when d uses one (see Maintain), for callers that send
// statements through a Pipeline.
func (d *DB) MaintenanceStatements(stmt string) []string {
	if d.tenantRole == "" {
		return []string{stmt}
	}
	return []string{"SELECT set_config('role', 'none', true)", stmt, "SELECT set_config('role', '" + d.tenantRole + "', true)"}
}

// Maintain runs stmt, a maintenance statement such as ANALYZE that only the
// table's owner may run, inside q, a team transaction of d: as the
// connecting role, then back under the tenant role. Elsewhere it just runs
// stmt.
func (d *DB) Maintain(ctx context.Context, q Querier, stmt string) error {
	for _, s := range d.MaintenanceStatements(stmt) {
		if _, err := q.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	return nil
}
