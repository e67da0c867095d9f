/**
 * The Pulumi program of Pulumi.yaml: deploys the example scenarios with the Pulumi face.
 * Run `npm run build` first (the program imports the compiled `cleanimg/pulumi`).
 */
import { deployExamples } from './program';

const stack = deployExamples();

export const workloads = Object.fromEntries(Object.entries(stack.deployments).map(([k, d]) => [k, d.name]));
export const configMaps = Object.fromEntries(Object.entries(stack.configs).map(([k, c]) => [k, c.configMapName]));
export const namespaces = Object.fromEntries(Object.entries(stack.namespaces).map(([k, n]) => [k, n.namespace.metadata.name]));
