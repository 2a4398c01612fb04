export { EmailNotifier, emailNotifier, type EmailEntry, type SmtpSettings } from './email';
export { emailContent, type EmailContent } from './message';
