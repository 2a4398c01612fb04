export { SlackNotifier, slackNotifier, type SlackEntry } from './slack';
export { slackMessage, escapeMrkdwn, OUTCOME_COLOURS, type SlackMessage, type SlackBlock } from './message';
