CREATE TYPE "public"."mail_purpose" AS ENUM('password_reset', 'email_verification', 'email_changed');--> statement-breakpoint
CREATE TABLE "mails_sent" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "mails_sent_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"address" text NOT NULL,
	"purpose" "mail_purpose" NOT NULL,
	"sent_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "mails_sent_address_purpose_sent_at_idx" ON "mails_sent" USING btree ("address","purpose","sent_at");--> statement-breakpoint
CREATE INDEX "mails_sent_sent_at_idx" ON "mails_sent" USING btree ("sent_at");