DROP INDEX events_live_figures;
