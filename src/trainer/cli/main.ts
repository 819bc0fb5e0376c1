// `image-trainer`: fast.ai Lesson 1 from the command line — train, lr-find, predict, interpret, demo.
import { writeCliError } from './error-line';
import { backendReport, formatReport } from '../backend/doctor';
import { Command, Option } from 'commander';
import * as fs from 'fs';
import * as path from 'path';
import { ARCHS, DEFAULT_ARCH } from '../../protocol/arch';
import { AUG_MODES, PAD_MODES, RESIZE_METHODS } from '../../protocol/dataset';
import { intArg, lrArg, numberArg } from './options';
import { EXPORT_FORMATS } from '../../protocol/export';
import { runExport, type ExportFlags } from './export';
import { runFineTune, runInterpret, runLrFind, runPredict, runTrain, type FineTuneFlags, type InterpretFlags, type LrFindFlags, type PredictFlags, type TrainFlags } from './run';

const PACKAGE_ROOT = path.resolve(__dirname, '../../../..');

/** The demo: resnet18 from scratch on the Fashion-MNIST sample that ships in the repository. */
export const DEMO = {
  data: path.join(PACKAGE_ROOT, 'samples', 'fashion-mnist'),
  labelRe: '/([^/]+)_\\d+\\.png$',
  arch: 'resnet18' as const,
  pretrained: 'none',
  size: 32,
  bs: 64,
  epochs: 6,
  lr: 1e-2,
  // The 2019 recipe stays: aug_transforms() measured the same error here (0.230 vs 0.230, docs/data.md).
  aug: 'v1' as const,
};

function version(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

function addDataModelOptions(cmd: Command, defaults: { arch?: string; pretrained?: string; size?: number; fromCheckpoint?: boolean } = {}): Command {
  const arch = new Option('--arch <name>', 'architecture').choices(ARCHS);
  const size = new Option('--size <px>', 'image size (square)').argParser(intArg('--size', 8, 1024));
  if (defaults.fromCheckpoint) {
    arch.description += ' (default: the checkpoint\'s)';
    size.description += ' (default: the checkpoint\'s)';
  } else {
    arch.default(defaults.arch ?? DEFAULT_ARCH);
    size.default(defaults.size ?? 224);
  }
  return cmd
    .option('--label-re <regex>', "label = first capture group of this regex on the file's path, e.g. '/([^/]+)_\\d+.jpg$'")
    .option('--folders', 'label = parent folder (train/ and valid/ subfolders fix the split when present)')
    .option('--csv <file>', 'label from a CSV file (file name and label columns)')
    .option('--fn-col <name>', 'CSV column with the file name (default: the first)')
    .option('--label-col <name>', 'CSV column with the label (default: the second)')
    .addOption(arch)
    .addOption(size)
    .addOption(new Option('--aug <v2|v1|none>', 'augmentation: aug_transforms() (fastai v2), get_transforms() (v1) or none').choices(AUG_MODES))
    .addOption(new Option('--resize <method>', "item transform Resize(method): crop (random on train, centred on valid), squish or pad").choices(RESIZE_METHODS))
    .addOption(new Option('--pad-mode <mode>', 'padding of Resize(pad) and of augmented samples outside the image (default reflection)').choices(PAD_MODES))
    .option('--min-scale <s>', 'aug_transforms(min_scale): random crops of at least this share of the image (with --aug none: RandomResizedCrop)', numberArg('--min-scale', 0.01, 1))
    .option('--presize <px>', "presizing: item transform at this size, augmentation down to --size (the lesson's 460 for 224)", intArg('--presize', 8, 2048))
    .option('--bs <n>', 'batch size', intArg('--bs', 1, 4096), 64)
    .option('--valid-pct <p>', 'share of images held out for validation', numberArg('--valid-pct', 0, 0.99), 0.2)
    .option('--seed <n>', 'random seed of the split, shuffling, augmentation and weight init', intArg('--seed', 0), 42)
    .option('--pretrained <auto|none|path>', 'ImageNet weights: auto (download and cache), none, or a .safetensors file', defaults.pretrained ?? 'auto')
    .option('--unfreeze', 'train every layer group (default with pretrained weights: only the head)')
    .option('--backend <name>', 'force a backend: tensorflow, wasm or cpu (default: the best present)')
    .option('--workers <n>', 'data-loading worker threads (default: one per core)', intArg('--workers', 0, 64))
    .addOption(new Option('--fp16', 'fp16 mixed precision with loss scaling (torch backend on a CUDA GPU; elsewhere a warning and fp32)').conflicts('bf16'))
    .addOption(new Option('--bf16', 'bf16 mixed precision (torch backend on a CPU with AVX512_BF16 or an Ampere+ GPU; elsewhere a warning and fp32)').conflicts('fp16'))
    .addOption(new Option('--save-best <monitor>', 'SaveModelCallback: keep the best epoch by this metric and load it at the end').choices(['valid_loss', 'train_loss', 'error_rate', 'accuracy']))
    .option('--early-stop <patience>', 'EarlyStoppingCallback: stop after this many epochs without a better valid_loss', intArg('--early-stop', 1, 10_000))
    .option('--label-smoothing <eps>', "LabelSmoothingCrossEntropy(eps) as the loss (fastai's 0.1)", numberArg('--label-smoothing', 0, 0.99))
    .option('--mixup <alpha>', "MixUp(alpha) on the training batches (fastai's 0.4)", numberArg('--mixup', 0.001, 100))
    .option('--out <dir>', 'run folder for metrics.json, models/ and export/ (default: runs/<command>-<time>)')
    .option('--json', 'print one JSON event per line on stdout instead of the table')
    .option('--verbose', 'print stack traces with errors');
}

/** Progressive resizing: a second training phase at another size, the learner kept (learn.dls = bigger data). */
function addProgressiveOptions(cmd: Command): Command {
  return cmd
    .option('--then-size <px>', 'progressive resizing: after training, change the image size to this and train again', intArg('--then-size', 8, 1024))
    .option('--then-bs <n>', 'batch size for the --then-size phase (default: --bs)', intArg('--then-bs', 1, 4096))
    .option('--then-epochs <n>', 'epochs of the --then-size phase (default: --epochs)', intArg('--then-epochs', 1, 10_000));
}

export function buildProgram(onExit: (code: number) => void): Command {
  const program = new Command('image-trainer')
    .description('Train and inspect image classifiers (fast.ai Lesson 1) on TensorFlow.js')
    .version(version())
    .showSuggestionAfterError(true)
    // Same prefix as the CLI's own errors; inherited by the subcommands defined below.
    .configureOutput({ outputError: (text, write) => write(`image-trainer: ${text}`) });

  addDataModelOptions(
    program.command('train').description('fine-tune a ResNet with the one-cycle policy (fit_one_cycle)')
      .requiredOption('--data <dir>', 'folder of images'),
  )
    .option('--epochs <n>', 'epochs', intArg('--epochs', 1, 10_000), 4)
    .option('--lr <lr>', 'max learning rate: a number (3e-3) or a range START:STOP (1e-6:1e-4) across layer groups', lrArg)
    .option('--save <name>', 'checkpoint name under OUT/models', 'stage-1');
  addProgressiveOptions(program.commands[program.commands.length - 1]).action(async (flags: TrainFlags) => onExit(await runTrain(flags)));

  addDataModelOptions(
    program.command('fine-tune').description("fastai v2's fine_tune: freeze_epochs one-cycle on the head, then unfreeze and one-cycle with discriminative lrs")
      .requiredOption('--data <dir>', 'folder of images'),
  )
    .option('--epochs <n>', 'epochs after unfreezing', intArg('--epochs', 1, 10_000), 1)
    .option('--base-lr <lr>', 'base learning rate (the frozen phase; halved for the unfrozen one)', numberArg('--base-lr', 1e-12, 1e3), 2e-3)
    .option('--freeze-epochs <n>', 'epochs with the body frozen', intArg('--freeze-epochs', 0, 10_000), 1)
    .option('--save <name>', 'checkpoint name under OUT/models', 'stage-1');
  addProgressiveOptions(program.commands[program.commands.length - 1]).action(async (flags: FineTuneFlags) => onExit(await runFineTune(flags)));

  addDataModelOptions(
    program.command('lr-find').description('run the learning-rate finder and print its suggestions')
      .requiredOption('--data <dir>', 'folder of images'),
  )
    .option('--start-lr <lr>', 'first learning rate', numberArg('--start-lr', 1e-12, 1e3), 1e-7)
    .option('--end-lr <lr>', 'last learning rate', numberArg('--end-lr', 1e-12, 1e3), 10)
    .option('--num-it <n>', 'iterations', intArg('--num-it', 2, 100_000), 100)
    .action(async (flags: LrFindFlags) => onExit(await runLrFind(flags)));

  program.command('predict').description('classify images with an exported model (native, ONNX or TF.js graph model)')
    .requiredOption('--model <dir>', 'an export folder (OUT/export of a train run, or one written by `export`) or a model.onnx')
    .argument('<images...>', 'image files')
    .option('--topk <n>', 'print the n most probable classes with their probabilities', intArg('--topk', 1, 1000))
    .option('--backend <name>', 'force a backend: tensorflow, wasm or cpu')
    .option('--json', 'one JSON line per image')
    .option('--verbose', 'print stack traces with errors')
    .action(async (images: string[], flags: PredictFlags) => onExit(await runPredict(images, flags)));

  program.command('export').description('export a trained run as ONNX, a TF.js graph model or the native format, with a model card')
    .requiredOption('--model <dir>', 'the --out folder of a train run (its export/ is read) or a native export folder')
    .addOption(new Option('--format <name>', 'onnx (onnxruntime), tfjs (tf.loadGraphModel) or native (Image Trainer only)').choices([...EXPORT_FORMATS]).makeOptionMandatory())
    .option('--out <dir>', 'export folder (default: RUN_DIR/export-<format>); only a new, empty or previous export folder is accepted')
    .option('--backend <name>', 'force a backend: tensorflow, wasm or cpu')
    .option('--json', 'one JSON line with the result')
    .option('--verbose', 'print stack traces with errors')
    .action(async (flags: ExportFlags) => onExit(await runExport(flags)));

  addDataModelOptions(
    program.command('interpret').description('top losses, confusion matrix and most confused pairs of a trained run')
      .requiredOption('--model <dir>', 'the --out folder of a train run (its models/ holds the checkpoint)')
      .requiredOption('--data <dir>', 'folder of images (the same dataset and labelling as the training run)')
      .option('--name <name>', 'checkpoint name under MODEL/models', 'stage-1')
      .option('--k <n>', 'how many top losses to show', intArg('--k', 1, 1000), 9)
      .option('--tta [n]', 'also the error with test-time augmentation, learn.tta(n=4, beta=0.25)', intArg('--tta', 1, 64)),
    { fromCheckpoint: true },
  ).action(async (flags: InterpretFlags) => onExit(await runInterpret(flags)));

  addDataModelOptions(
    program.command('demo').description('train resnet18 from scratch on the bundled Fashion-MNIST sample (a few minutes on 2 cores)')
      .option('--data <dir>', 'folder of images', DEMO.data),
    { arch: DEMO.arch, pretrained: DEMO.pretrained, size: DEMO.size },
  )
    .option('--epochs <n>', 'epochs', intArg('--epochs', 1, 10_000), DEMO.epochs)
    .option('--lr <lr>', 'max learning rate', lrArg, DEMO.lr)
    .option('--save <name>', 'checkpoint name under OUT/models', 'stage-1')
    .action(async (flags: TrainFlags) => {
      const useDefaultLabels = flags.labelRe === undefined && !flags.folders && flags.csv === undefined;
      onExit(await runTrain({ ...flags, aug: flags.aug ?? DEMO.aug, ...(useDefaultLabels ? { labelRe: DEMO.labelRe } : {}) }, 'demo'));
    });

  program.command('doctor').description('which backend runs, the libtorch behind it, and how to get a faster one')
    .option('--backend <name>', 'start this backend instead of the best present (torch, wasm, cpu, ...)')
    .option('--threads <n>', 'intra-op threads for torch/wasm (default: the cores)', intArg('--threads', 1, 1024))
    .option('--json', 'print the report as JSON')
    .action(async (flags: { backend?: string; threads?: number; json?: boolean }) => {
      try {
        const report = await backendReport({ prefer: flags.backend, threads: flags.threads });
        console.log(flags.json ? JSON.stringify(report, null, 2) : formatReport(report));
        process.exit(0);
      } catch (err) {
        writeCliError(err);
        process.exit(1);
      }
    });

  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  const program = buildProgram((code) => {
    // Worker threads (data loading, wasm) would keep the process alive; the run is over.
    process.exit(code);
  });
  await program.parseAsync(argv);
}

if (require.main === module) void main();
