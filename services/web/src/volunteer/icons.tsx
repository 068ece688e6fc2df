// Category icons as inline SVG (no icon font, no emoji font needed).
const PATHS: Record<string, string> = {
  "housing-safety": "M4 20V10l8-6 8 6v10h-6v-6h-4v6zM13 4l-2 5 3 1-2 5",
  "public-security": "M12 2l8 3v6c0 5-3.5 9-8 11-4.5-2-8-6-8-11V5zM8 12l3 3 5-6",
  "urban-management": "M3 21V9h6v12M9 21V3h8v18M17 21v-8h4v8M2 21h20M12 7h2M12 11h2M12 15h2",
  "fire-safety": "M12 2c1 4 6 6 6 12a6 6 0 0 1-12 0c0-3 2-5 3-6 0 2 1 3 2 3 0-4-1-6 1-9z",
  "traffic-safety": "M8 2h8v20H8zM12 6a1.5 1.5 0 1 0 .01 0M12 11a1.5 1.5 0 1 0 .01 0M12 16a1.5 1.5 0 1 0 .01 0",
  sanitation: "M5 6h14M10 6V3h4v3M6 6l1 15h10l1-15M10 10v8M14 10v8",
  "epidemic-prevention": "M9 3h6v6h6v6h-6v6H9v-6H3V9h6z",
  "market-safety": "M3 9l2-5h14l2 5M3 9h18v3H3zM5 12v9h14v-9M10 21v-5h4v5",
  "public-service-obstruction": "M3 9l9-6 9 6M5 9v10M9 9v10M15 9v10M19 9v10M3 21h18",
  other: "M9 9a3 3 0 1 1 4 3c-1 .5-1 1-1 2M12 18h.01M12 2a10 10 0 1 0 .01 0",
};

export function CategoryIcon({ code }: { code: string }) {
  return (
    <svg class="icon" viewBox="0 0 24 24" width="36" height="36" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round">
      <path d={PATHS[code] ?? PATHS.other!} />
    </svg>
  );
}
