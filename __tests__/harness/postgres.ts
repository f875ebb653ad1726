/** The test harness uses the drill's own local PostgreSQL (scripts/drill/postgres.ts): one way to run it. */
export * from "../../scripts/drill/postgres";
