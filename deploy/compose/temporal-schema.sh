#!/bin/sh
# Create Temporal's two PostgreSQL databases and bring their schemas up to date (the temporalio/admin-tools
# image's temporal-sql-tool, as Temporal's own compose examples do). Safe on every start: a database already
# set up only gets the schema versions it lacks (setup-schema -v 0.0 would set its version back to 0.0).
set -eu
: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
SCHEMAS=/etc/temporal/schema/postgresql/v12

sql_tool() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "${DB_PORT:-5432}" -u "$POSTGRES_USER" "$@"
}

for database in temporal temporal_visibility; do
  case "$database" in
    temporal) versioned="$SCHEMAS/temporal/versioned" ;;
    *) versioned="$SCHEMAS/visibility/versioned" ;;
  esac
  sql_tool --db "$database" create
  if ! sql_tool --db "$database" update-schema -d "$versioned"; then
    echo "$database has no schema yet: setting it up"
    sql_tool --db "$database" setup-schema -v 0.0
    sql_tool --db "$database" update-schema -d "$versioned"
  fi
done
echo "Temporal's databases are up to date"
