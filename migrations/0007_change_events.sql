CREATE TABLE "events" (
	"position" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "events_position_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"id" uuid NOT NULL,
	"type" text NOT NULL,
	"subject" uuid NOT NULL,
	"time" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"data" jsonb NOT NULL,
	"actor" text NOT NULL,
	"request_id" text,
	CONSTRAINT "events_id_unique" UNIQUE("id")
);
--> statement-breakpoint
CREATE TABLE "webhook_cursors" (
	"url" text PRIMARY KEY NOT NULL,
	"position" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "events_subject_position_idx" ON "events" USING btree ("subject","position");--> statement-breakpoint
CREATE INDEX "events_type_position_idx" ON "events" USING btree ("type","position");--> statement-breakpoint
CREATE INDEX "events_time_idx" ON "events" USING btree ("time");