# Sourced by moto-venv.sh and localstack-venv.sh: makes sure Debian's python3 can create a virtualenv
# (python3-venv brings ensurepip), installing that package where running as root.
# ensure_python_venv PYTHON CALLER
ensure_python_venv() {
  local python=$1 caller=$2
  if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
    if [ "$(id -u)" != 0 ]; then
      echo "$caller: $python lacks venv/ensurepip; install Debian's python3-venv (as root)" >&2
      exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
  fi
}
