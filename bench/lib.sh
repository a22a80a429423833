# Shared by the bench scripts: source it after `set -euo pipefail`.

# replace_one_time_password URL PASSWORD: the bootstrap admin's printed
# password is one-time (every route but the account's own refuses it until
# it is changed), so a bench signs in once, sets a password of its own and
# prints it for the rest of the run.
replace_one_time_password() {
  local url=$1 old=$2 jar csrf new
  jar=$(mktemp)
  new="bench-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
  csrf=$(curl -fs -c "$jar" -H 'Content-Type: application/json' \
    -d "{\"email\":\"admin@cspm.local\",\"password\":\"$old\"}" "$url/api/v1/auth/login" | sed -E 's/.*"csrf_token":"([^"]*)".*/\1/')
  curl -fs -b "$jar" -o /dev/null -H 'Content-Type: application/json' -H "X-CSRF-Token: $csrf" \
    -d "{\"current_password\":\"$old\",\"new_password\":\"$new\"}" "$url/api/v1/auth/password"
  rm -f "$jar"
  echo "$new"
}
