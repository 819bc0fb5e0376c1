// Interpretation's answers: ClassificationInterpretation's numbers as interpretation.json holds
// them, the `interpret` request's answer (the same plus every item's probabilities) and Grad-CAM.
import { z } from 'zod';

export { classificationReport } from './classification-report';

export const ConfusedPair = z.object({ actual: z.string(), predicted: z.string(), count: z.number().int() });
export type ConfusedPair = z.infer<typeof ConfusedPair>;

export const ClassMetrics = z.object({
  name: z.string(),
  /** Validation items of this class. */
  support: z.number().int(),
  /** Items predicted as this class. */
  predictedCount: z.number().int(),
  /** null when no item was predicted as this class (undefined, not NaN). */
  precision: z.number().nullable(),
  /** null when the class has no validation items. */
  recall: z.number().nullable(),
  /** 2TP/(2TP+FP+FN); null when the class has no validation items. */
  f1: z.number().nullable(),
});
export type ClassMetrics = z.infer<typeof ClassMetrics>;

/** One line of sklearn's classification_report; zero divisions count as 0 (its zero_division default). */
export const ReportRow = z.object({
  precision: z.number(),
  recall: z.number(),
  f1: z.number(),
  support: z.number().int(),
});
export type ReportRow = z.infer<typeof ReportRow>;

/** sklearn's classification_report(y, pred, labels=every class) as fastai's print_classification_report shows it. */
export const ClassificationReport = z.object({
  classes: z.array(ReportRow.extend({ name: z.string() })),
  accuracy: z.number(),
  /** Validation items (the support of accuracy and of both averages). */
  support: z.number().int(),
  /** Unweighted mean over every class. */
  macroAvg: ReportRow,
  /** Mean over classes weighted by support. */
  weightedAvg: ReportRow,
});
export type ClassificationReport = z.infer<typeof ClassificationReport>;

export const TopLoss = z.object({
  index: z.number().int(),
  file: z.string(),
  predicted: z.string(),
  actual: z.string(),
  loss: z.number(),
  /** Probability the model gave the actual class (the lesson's fourth title field). */
  probability: z.number(),
});
export type TopLoss = z.infer<typeof TopLoss>;

/** learn.tta(n, beta) on the validation set next to the plain pass (the `tta` answer; interpretation.json's `tta`). */
export const TtaSummary = z.object({
  n: z.number().int(),
  beta: z.number().nullable(),
  /** Validation items. */
  count: z.number().int(),
  errorRate: z.number(),
  plainErrorRate: z.number(),
});
export type TtaSummary = z.infer<typeof TtaSummary>;

/** interpretation.json. */
export const InterpretationSummary = z.object({
  version: z.literal(1),
  createdAt: z.string(),
  classes: z.array(z.string()),
  /** Validation items. */
  n: z.number().int(),
  accuracy: z.number().nullable(),
  errorRate: z.number().nullable(),
  /** Rows actual, columns predicted. */
  confusionMatrix: z.array(z.array(z.number().int())),
  /** Row-normalised; null rows for classes without validation items. */
  confusionMatrixNormalized: z.array(z.array(z.number().nullable())),
  mostConfused: z.array(ConfusedPair),
  perClass: z.array(ClassMetrics),
  /** sklearn's classification_report (zero divisions 0): per class, accuracy, macro and weighted averages. */
  report: ClassificationReport,
  topLosses: z.array(TopLoss),
  /** Every validation item, as a top loss is told (no probability vectors), so a viewer can list a cell's items. */
  items: z.array(TopLoss),
  /** Present when interpret ran with --tta. */
  tta: TtaSummary.optional(),
});
export type InterpretationSummary = z.infer<typeof InterpretationSummary>;

/** The `interpret` answer: the summary, `confusion`, and every item with class indices and its softmax row. */
export const InterpretResult = InterpretationSummary.omit({ items: true }).extend({
  confusion: z.array(z.array(z.number().int())),
  /** Each item with class indices (not names) and its softmax row. */
  items: z.array(TopLoss.extend({ actual: z.number().int(), predicted: z.number().int(), probs: z.array(z.number()) })),
});
export type InterpretResult = z.infer<typeof InterpretResult>;

export const GradCamResult = z.object({
  file: z.string(),
  classIndex: z.number().int(),
  className: z.string(),
  predicted: z.number().int(),
  predictedName: z.string(),
  score: z.number(),
  probability: z.number(),
  /** The overlay: data:image/png;base64,… */
  png: z.string(),
  /** The unscaled map at the feature resolution (row-major). */
  raw: z.array(z.number()),
  rawWidth: z.number().int(),
  rawHeight: z.number().int(),
  /** Why this map cannot show where the model looked (gradCamEmptyReason), when it cannot. */
  note: z.string().optional(),
});
export type GradCamResult = z.infer<typeof GradCamResult>;

/**
 * Why a Grad-CAM map carries no "where", or undefined when it does: a 1×1 last conv block (small
 * image sizes: resnets give size/32, so 32 px is 1×1 and 224 px is 7×7) is one value spread over
 * the whole image, and an all-zero map means no channel speaks for the class. Both would draw as a
 * flat wash of colour that looks like an answer.
 */
export function gradCamEmptyReason(cam: { rawHeight: number; rawWidth: number; raw: ArrayLike<number> }): string | undefined {
  if (cam.rawHeight * cam.rawWidth <= 1) {
    return `the last conv block is ${cam.rawHeight}×${cam.rawWidth} at this image size; open the data at 128 px or more (Change Image Size…, --size) to see where the model looks`;
  }
  for (let i = 0; i < cam.raw.length; i++) if (cam.raw[i] > 0) return undefined;
  return 'nothing in the image speaks for the predicted class';
}
