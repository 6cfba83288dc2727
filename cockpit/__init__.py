"""未来工厂驾驶舱: the application (config, store, scheduler, CLI) and its Dash UI."""
