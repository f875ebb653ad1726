/** The test harness uses the drill's own local S3 server (scripts/drill/moto.ts): one way to run it. */
export * from "../../scripts/drill/moto";
