import { hardenedDeployment, type HardenedDeploymentProps } from '../../src/core';
import type { KubeObject } from '../../src/rules';

export const DIGEST = `sha256:${'ab'.repeat(32)}` as const;
export const IMAGE = `registry.example.com/app@${DIGEST}` as const;

/** A minimal valid props object; tests spread over it. */
export function baseProps(over: Partial<HardenedDeploymentProps> = {}): HardenedDeploymentProps {
  return {
    name: 'web',
    containers: [{ name: 'app', image: IMAGE, ports: [{ containerPort: 8080, name: 'http' }] }],
    ...over,
  };
}

/** A hardened Deployment that passes every rule, as a deep copy callers may mutate. */
export function goodDeployment(): any {
  return structuredClone(hardenedDeployment(baseProps()).deployment) as KubeObject;
}
