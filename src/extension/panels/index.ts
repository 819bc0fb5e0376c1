// The panels' public API for the extension (see docs/panels.md).
export { WebviewPanels, type UserIntentEvent, type WebviewPanelsOptions } from './panels';
export type { DatasetSummaryLike } from './panel-replay';
export { handlePanelIntents, type TrainerRequester } from './intents';
export { PanelController } from './webview-panel';
export { toRunSummary, summarizeRunEvents } from './run-summary';
export { toInterpretationData, fromInterpretationJson, cellItems } from './interpretation-data';
export { panelHtml, panelCsp, PANEL_BUNDLES, PANEL_TITLES } from './html';
