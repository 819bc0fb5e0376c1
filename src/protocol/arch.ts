// The architectures the product trains (torchvision's resnets, with fastai's head).
import { z } from 'zod';

export const ARCHS = ['resnet18', 'resnet34', 'resnet50'] as const;
export const Arch = z.enum(ARCHS);
export type Arch = z.infer<typeof Arch>;

/** The lesson's architecture (also package.json's imageTrainer.defaultArch default). */
export const DEFAULT_ARCH: Arch = 'resnet34';
