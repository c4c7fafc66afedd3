throw new Error('this module fails on import');
