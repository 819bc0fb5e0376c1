// Collects a model's named trainable parameters and non-trainable buffers as it is built.
import { tf } from '../backend';
import type { ModelParam } from './types';

export class ParamStore {
  readonly params: ModelParam[] = [];
  readonly buffers = new Map<string, tf.Variable>();
  private readonly byName = new Map<string, tf.Variable>();

  param(name: string, value: tf.Tensor, group: number, isBn = false): tf.Variable {
    if (this.byName.has(name)) throw new Error(`duplicate parameter name ${name}`);
    const variable = tf.variable(value, true);
    value.dispose();
    this.params.push({ name, variable, group, isBn });
    this.byName.set(name, variable);
    return variable;
  }

  buffer(name: string, value: tf.Tensor): tf.Variable {
    if (this.byName.has(name)) throw new Error(`duplicate buffer name ${name}`);
    const variable = tf.variable(value, false);
    value.dispose();
    this.buffers.set(name, variable);
    this.byName.set(name, variable);
    return variable;
  }

  get(name: string): tf.Variable | undefined {
    return this.byName.get(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  dispose(): void {
    for (const v of this.byName.values()) v.dispose();
    this.byName.clear();
    this.buffers.clear();
    this.params.length = 0;
  }
}
