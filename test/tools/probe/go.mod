// cleanimg-probe: the end-to-end tier's test app. One static binary that runs in the real node's
// pods: it reports, from inside the container, what the hardening looks like (uid, read-only root,
// capabilities, no_new_privs, seccomp, mounts), dials TLS with the system roots, dials TCP (what a
// NetworkPolicy lets through), fills /tmp on request, and stands in for the examples'
// applications (listens where their probes look).
module cleanimg.test/tools/probe

go 1.25.0
