/** Every attack of the suite, by face, and by the file that holds it. */
import type { Cdk8sAttack } from '../cdk8s-harness';
import type { PulumiAttack } from '../pulumi-harness';
import { CDK8S_CLUSTER_OBJECT_ATTACKS } from './cdk8s-cluster-objects';
import { CDK8S_CONTENT_ATTACKS } from './cdk8s-content';
import { CDK8S_HIDDEN_ATTACKS } from './cdk8s-hidden';
import { CDK8S_NAMESPACE_ATTACKS } from './cdk8s-namespace';
import { CDK8S_PATCH_ATTACKS } from './cdk8s-patches';
import { CDK8S_PROP_ATTACKS } from './cdk8s-props';
import { CDK8S_SIGNATURE_ATTACKS } from './cdk8s-signatures';
import { PULUMI_FACE_ATTACKS } from './pulumi-face';

/** Attack lists by file name in this directory (the coverage test reads each file's source). */
export const CDK8S_ATTACK_FILES: Readonly<Record<string, readonly Cdk8sAttack[]>> = {
  'cdk8s-props.ts': CDK8S_PROP_ATTACKS,
  'cdk8s-content.ts': CDK8S_CONTENT_ATTACKS,
  'cdk8s-patches.ts': CDK8S_PATCH_ATTACKS,
  'cdk8s-namespace.ts': CDK8S_NAMESPACE_ATTACKS,
  'cdk8s-hidden.ts': CDK8S_HIDDEN_ATTACKS,
  'cdk8s-signatures.ts': CDK8S_SIGNATURE_ATTACKS,
  'cdk8s-cluster-objects.ts': CDK8S_CLUSTER_OBJECT_ATTACKS,
};

export const CDK8S_ATTACKS: readonly Cdk8sAttack[] = Object.values(CDK8S_ATTACK_FILES).flat();

/** Pulumi attack lists by file name in this directory. */
export const PULUMI_ATTACK_FILES: Readonly<Record<string, readonly PulumiAttack[]>> = {
  'pulumi-face.ts': PULUMI_FACE_ATTACKS,
};

export const PULUMI_ATTACKS: readonly PulumiAttack[] = Object.values(PULUMI_ATTACK_FILES).flat();
