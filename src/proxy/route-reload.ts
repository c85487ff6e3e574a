import type { Clock } from '../clock.js';
import type { DecisionStep } from '../auth/decide.js';
import { RouteTable } from '../auth/routes.js';
import type { ConfigPart } from '../config/reload.js';
import type { Logger } from '../log/logger.js';
import type { LiveExchanges } from './live-exchanges.js';

/**
 * The `routes` part of a reload: the decision step every port shares takes a new route table
 * (requests judged from now on use it, exactly as a step started with it would), then each open
 * exchange is judged again under it and one it no longer allows ends (reason `config`).
 */
export function routesPart(decisions: DecisionStep, live: LiveExchanges | undefined, clock: Clock, logger: Logger): ConfigPart {
  return {
    keys: ['routes'],
    apply(next) {
      decisions.useRoutes(new RouteTable(next.routes));
      const ended = live?.rejudge((exchange, token) => decisions.allowsStill(exchange, token, clock.now())) ?? 0;
      if (ended > 0) logger.info({ ended }, 'open exchanges the new routes no longer allow were ended');
    },
  };
}
