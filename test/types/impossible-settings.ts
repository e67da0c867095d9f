/**
 * Compile-time proof that insecure settings cannot be expressed. `npm test` type-checks this file
 * (tsconfig.test.json): each `@ts-expect-error` fails the build if the line below it compiles,
 * so adding an escape hatch to the props breaks the test suite.
 */
import { App, Chart } from 'cdk8s';
import { HardenedDeployment, EnvConfig } from '../../src/cdk8s';
import { hardenedDeployment, nonRootId, type HardenedContainerProps } from '../../src/core';

const chart = new Chart(new App(), 'types');
const image = 'registry.example.com/app@sha256:0000000000000000000000000000000000000000000000000000000000000000' as const;
const ok: HardenedContainerProps = { name: 'app', image, ports: [{ containerPort: 8080 }] };

// The safe forms compile.
new HardenedDeployment(chart, 'ok', { containers: [ok], runAsUser: 65532, runAsGroup: nonRootId(10001) });
new HardenedDeployment(chart, 'low-port', { containers: [{ ...ok, ports: [{ containerPort: 443 }], netBindService: true }] });
new EnvConfig(chart, 'cfg', { data: { a: 'b' }, secrets: [{ secretName: 's', mountPath: '/var/run/secrets/s' }] });

// privileged
// @ts-expect-error there is no privileged prop
hardenedDeployment({ name: 'a', containers: [{ ...ok, privileged: true }] });

// readOnlyRootFilesystem: false
// @ts-expect-error the root filesystem is always read-only
hardenedDeployment({ name: 'a', containers: [{ ...ok, readOnlyRootFilesystem: false }] });

// a securityContext of one's own
// @ts-expect-error the security context is not a prop
hardenedDeployment({ name: 'a', containers: [{ ...ok, securityContext: { readOnlyRootFilesystem: false } }] });

// runAsUser: 0 (root)
// @ts-expect-error 0 is not a NonRootId
hardenedDeployment({ name: 'a', containers: [ok], runAsUser: 0 });

// runAsUser: a system UID
// @ts-expect-error 1000 is not a NonRootId (use nonRootId(n) with n >= 10000)
new HardenedDeployment(chart, 'uid', { containers: [ok], runAsUser: 1000 });

// allowPrivilegeEscalation: true
// @ts-expect-error privilege escalation is always off
hardenedDeployment({ name: 'a', containers: [{ ...ok, allowPrivilegeEscalation: true }] });

// adding a capability
// @ts-expect-error capabilities are always dropped; only netBindService exists
hardenedDeployment({ name: 'a', containers: [{ ...ok, capabilities: { add: ['SYS_ADMIN'] } }] });

// seccomp Unconfined
// @ts-expect-error the seccomp profile is always RuntimeDefault
hardenedDeployment({ name: 'a', containers: [{ ...ok, seccompProfile: { type: 'Unconfined' } }] });

// a hostPath volume
// @ts-expect-error writable paths are emptyDirs or PVCs
hardenedDeployment({ name: 'a', containers: [{ ...ok, writablePaths: [{ path: '/data', hostPath: '/srv/data' }] }] });

// an unsized emptyDir
// @ts-expect-error an emptyDir needs a sizeLimit
hardenedDeployment({ name: 'a', containers: [{ ...ok, writablePaths: [{ path: '/data' }] }] });

// host namespaces
// @ts-expect-error pods never share host namespaces
hardenedDeployment({ name: 'a', containers: [ok], hostNetwork: true });

// a tag-only image
// @ts-expect-error images must be pinned by digest
hardenedDeployment({ name: 'a', containers: [{ ...ok, image: 'nginx:1.25' }] });

// a tag-only image in the cdk8s face
// @ts-expect-error images must be pinned by digest
new HardenedDeployment(chart, 'tag', { containers: [{ ...ok, image: 'nginx:latest' }] });

// literal secret data in an EnvConfig
// @ts-expect-error secrets are references to existing Secrets
new EnvConfig(chart, 'secret', { secrets: [{ secretName: 's', mountPath: '/s', stringData: { password: 'x' } }] });
