export { WebhookNotifier, webhookNotifier, type WebhookEntry } from './webhook';
export { verifyWebhookSignature, signWebhook, computeSignature, SIGNATURE_HEADER, DEFAULT_TOLERANCE_SECONDS, type VerifyResult } from './signature';
export { readDeliveryLog } from './log';
