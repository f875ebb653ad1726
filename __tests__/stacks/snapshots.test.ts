import { forSnapshot, synthPlan } from "./synth";

const contexts = [
  { region: "primary", maintenance: "off" },
  { region: "primary", maintenance: "on" },
  { region: "secondary", maintenance: "off" },
  { region: "secondary", maintenance: "on" },
];

describe.each(contexts)("stacks with region=$region maintenance=$maintenance", (context) => {
  const { stacks } = synthPlan(context);
  it.each(Object.keys(stacks))("%s matches its reviewed snapshot", (name) => {
    expect(forSnapshot(stacks[name])).toMatchSnapshot();
  });
});
