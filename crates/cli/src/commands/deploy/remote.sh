# The host's side of `pm2 deploy`, read by `sh -s` over ssh. The caller puts
# before it the variables P (the deploy path), REPO, REF, CMD, the hook commands
# and post_deploy_env (exports the deploy section's env), and after it the call
# of one step.
# Layout, as PM2 keeps it: $P/source (the git clone), $P/current (a symlink to
# it, where hooks run), $P/shared/{logs,pids}, $P/.deploys (one commit a line).
# Everything is inside functions so that sh has read the whole text before any
# command runs; commands get /dev/null as stdin so none can eat this script.

say() { printf '  \342\227\213 %s\n' "$*"; }

fail() {
  printf '  %s\n' "$*" >&2
  exit 1
}

# A relative deploy path is relative to the login folder, as for ssh itself.
case $P in
  /*) ;;
  *) P=$(pwd)/$P ;;
esac

# hook NAME FOLDER COMMAND: runs a hook's command, failing the step with it.
hook() {
  [ -n "$3" ] || return 0
  say "executing $1 \`$3\`"
  (cd "$2" && sh -c "$3") </dev/null || fail "$1 hook failed"
}

link_current() {
  [ -L "$P/current" ] && return 0
  [ -e "$P/current" ] && fail "$P/current exists and is not a symlink"
  ln -s "$P/source" "$P/current" || fail "cannot link $P/current"
}

need_setup() {
  [ -d "$P/source/.git" ] || fail "$P/source is not a git clone: run \`pm2 deploy <file> <environment> setup\` first"
}

step_setup() {
  hook pre-setup . "$PRE_SETUP"
  say "running setup"
  mkdir -p "$P/shared/logs" "$P/shared/pids" || fail "cannot create $P"
  if [ -d "$P/source/.git" ]; then
    say "$P/source is already cloned"
  else
    say "cloning $REPO"
    git clone "$REPO" "$P/source" </dev/null || fail "git clone of $REPO failed"
  fi
  say "full fetch"
  (cd "$P/source" && git fetch --all --tags </dev/null) || fail "git fetch failed"
  link_current
  hook post-setup "$P/current" "$POST_SETUP"
  say "setup complete"
}

step_deploy() {
  need_setup
  hook pre-deploy "$P/current" "$PRE_DEPLOY"
  cd "$P/source" || fail "cannot enter $P/source"
  say "fetching updates"
  say "full fetch"
  git fetch --all --tags </dev/null || fail "git fetch failed"
  last=$(git rev-parse --verify -q HEAD)
  say "resetting HEAD to $REF"
  git reset --hard "$REF" </dev/null || fail "cannot reset to $REF"
  new=$(git rev-parse HEAD) || fail "cannot read HEAD"
  link_current
  if [ -n "$POST_DEPLOY" ]; then
    say "executing post-deploy \`$POST_DEPLOY\`"
    if ! (cd "$P/current" && post_deploy_env && sh -c "$POST_DEPLOY") </dev/null; then
      printf '  post-deploy hook failed\n' >&2
      # The release whose post-deploy failed is not kept: current goes back
      # to the commit it held, and .deploys does not record the failed one.
      if [ -n "$last" ]; then
        say "restoring $last"
        git reset --hard "$last" </dev/null >&2
      fi
      exit 1
    fi
  fi
  printf '%s\n' "$new" >>"$P/.deploys" || fail "cannot write $P/.deploys"
  say "successfully deployed $REF"
}

step_deploys() {
  need_setup
  [ -f "$P/.deploys" ] || return 0
  cat "$P/.deploys"
}

step_current() {
  need_setup
  cd "$P/source" && git rev-parse --short HEAD
}

step_exec() {
  cd "$P/current" || fail "cannot enter $P/current: run \`pm2 deploy <file> <environment> setup\` first"
  sh -c "$CMD" </dev/null
}
