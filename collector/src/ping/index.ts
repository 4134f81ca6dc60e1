export { startPingMonitor, type PingMonitor, type PingMonitorOptions, type PingStates, type TargetView, type ResellerView, type RoundSummary } from './pingMonitor';
export { createFpingPinger, type FpingPingerOptions } from './fpingPinger';
export { createNpmPingPinger, type NpmPingPingerOptions } from './npmPingPinger';
export { choosePinger, findExecutable } from './choosePinger';
export { step, initialState, resellerLinkState, isDegradedRound, type StateMachineParams, type TargetLinkState, type RoundObservation, type Transition } from './linkStateMachine';
export { parseFpingOutput } from './fpingParser';
export { classifyTarget, ipv6Available } from './targetCheck';
export { PingerError, summarise, type Pinger, type ProbeOptions, type ProbeResult, type TargetError, type TargetErrorKind } from './types';
export { loopbackDown, loopbackUp, blackholedLoopbacks, assertDemoAddress } from './linkControl';
