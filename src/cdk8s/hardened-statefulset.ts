import type { ApiObject } from 'cdk8s';
import type { Construct } from 'constructs';
import type { HardenedStatefulSetProps as CoreProps } from '../core/props';
import { hardenedStatefulSet, type HardenedStatefulSetResult } from '../core/workload/statefulset';
import { HardenedWorkload } from './hardened-workload';
import { defaultNameUnder } from './naming';

export interface HardenedStatefulSetProps extends Omit<CoreProps, 'name'> {
  /** Name of the StatefulSet and its ServiceAccount. @default derived from the construct path */
  readonly name?: string;
}

/**
 * A StatefulSet with every hardening of HardenedDeployment: `writablePaths` with `storage` become
 * volumeClaimTemplates (one claim per pod), and a headless Service `<name>-headless` governs it.
 */
export class HardenedStatefulSet extends HardenedWorkload {
  readonly statefulSet: ApiObject;
  readonly headlessService: ApiObject;
  declare readonly result: HardenedStatefulSetResult;

  constructor(scope: Construct, id: string, props: HardenedStatefulSetProps) {
    const name = props.name ?? defaultNameUnder(scope, id);
    super(scope, id, name, hardenedStatefulSet({ ...props, name }));
    this.statefulSet = this.workload;
    this.headlessService = this.node.findChild('HeadlessService') as ApiObject;
    this.workload.addDependency(this.headlessService);
  }
}
